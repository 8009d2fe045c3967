/**
 * Streams for tests that make many: stream creation is rate-limited per user (DEFAULTS.streamCreatesPerMinute,
 * 20 a minute), so a new broadcaster account takes over every 15 streams. Each stream comes with its owner's
 * access token.
 */
import type { TestServer } from './testServer.js';

export interface OwnedStream {
  id: string;
  streamKey: string;
  /** The owner's access token. */
  token: string;
}

export function streamFactory(s: TestServer, prefix: string): (title: string) => Promise<OwnedStream> {
  let token = '';
  let made = 0;
  let owners = 0;
  return async (title) => {
    if (made++ % 15 === 0) token = await s.broadcaster(`${prefix}${owners++}`);
    const r = await s.api('POST', '/api/streams', { token, body: { title } });
    if (r.status !== 201) throw new Error(`stream creation failed: ${r.status} ${JSON.stringify(r.body)}`);
    return { id: r.body.id as string, streamKey: r.body.streamKey as string, token };
  };
}
