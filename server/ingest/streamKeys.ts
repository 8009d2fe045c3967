/**
 * Which stream a publisher's key opens. RTMP and SRT name only the key (rtmp://host/live/KEY,
 * srt://host?streamid=KEY), so the stream is found by its key; the key is then held to WHIP's rule
 * (whipRoutes.ts: the presented secret must equal the stream's key, compared in constant time, `sameSecret`).
 * A key of the wrong shape is refused before any look-up.
 */
import { sameSecret } from '../whip/sdpHttp.js';

export interface KeyedStream {
  id: string;
  streamKey: string;
}

/** The store's look-up by key (sync or async: the store may be SQLite or a server database). */
export type FindStreamByKey = (key: string) => KeyedStream | undefined | Promise<KeyedStream | undefined>;

/** Stream keys are `sk_` and base64url today; anything longer or with other characters is no key. */
const KEY_SHAPE = /^[A-Za-z0-9_-]{8,128}$/;

/** The id of the stream this key opens, or undefined (wrong or malformed key). */
export async function streamForKey(key: string, find: FindStreamByKey): Promise<string | undefined> {
  if (!KEY_SHAPE.test(key)) return undefined;
  const stream = await find(key);
  return stream && sameSecret(key, stream.streamKey) ? stream.id : undefined;
}
