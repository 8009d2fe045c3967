/**
 * Restream (multistream) destinations as the API and the studio see them: an RTMP(S) URL and a stream key
 * (write-only: after creation only a masked hint is ever returned), and the live state of each destination's
 * ffmpeg while the stream broadcasts. Validated at runtime with the schemas below (server routes, studio).
 */
import { z } from 'zod';

/** connecting: ffmpeg started, no media accepted yet; live: the destination takes media; failed: the last
 * attempt ended (see `reason`), retrying: waiting `retryInMs` before the next; idle: not broadcasting;
 * disabled: the destination is switched off. */
export const RESTREAM_STATES = ['idle', 'connecting', 'live', 'failed', 'retrying', 'disabled'] as const;
export type RestreamStateName = (typeof RESTREAM_STATES)[number];

export interface RestreamState {
  state: RestreamStateName;
  /** Why the last attempt failed (ffmpeg's own words), for failed and retrying. */
  reason?: string | undefined;
  /** retrying: the next attempt starts in this many ms. */
  retryInMs?: number | undefined;
  /** Attempts that failed in a row. */
  failures: number;
  /** Video copied (H.264 source) or transcoded (libx264), once connecting. */
  video?: 'copy' | 'transcode' | undefined;
  /** ISO time of the last change. */
  since: string;
}

export interface DestinationInfo {
  id: string;
  streamId: string;
  name: string;
  /** rtmp:// or rtmps:// server URL, without the key. */
  url: string;
  /** The key masked: "••••" and its last 4 characters (only for keys of 12 characters or more). */
  streamKeyHint: string;
  enabled: boolean;
  createdAt: string;
  status: RestreamState;
}

export interface DestinationList {
  destinations: DestinationInfo[];
}

/** The socket event the stream's owner (and admins) receive when a destination's state changes. */
export interface RestreamStateEvent {
  streamId: string;
  destinationId: string;
  status: RestreamState;
}

export const MAX_DESTINATIONS_PER_STREAM = 10;

/** A destination server URL: rtmp or rtmps only, a host, no credentials, no query or fragment. */
export const destinationUrlSchema = z
  .string()
  .trim()
  .max(512, 'the URL is too long (512 characters at most)')
  .url('not a URL')
  .superRefine((v, ctx) => {
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      return; // reported by .url()
    }
    if (u.protocol !== 'rtmp:' && u.protocol !== 'rtmps:') ctx.addIssue({ code: 'custom', message: 'only rtmp:// and rtmps:// URLs are accepted' });
    else if (!u.hostname) ctx.addIssue({ code: 'custom', message: 'the URL has no host' });
    else if (u.username || u.password) ctx.addIssue({ code: 'custom', message: 'credentials belong in the stream key, not in the URL' });
    else if (u.search || u.hash) ctx.addIssue({ code: 'custom', message: 'the URL must not have a query or a fragment' });
  });

export const createDestinationBodySchema = z
  .object({
    name: z.string().trim().min(1).max(60).optional(),
    url: destinationUrlSchema,
    /** Printable ASCII without spaces (what every platform issues). */
    streamKey: z.string().min(1, 'a stream key is needed').max(256).regex(/^[\x21-\x7e]+$/, 'the stream key must be printable characters without spaces'),
    enabled: z.boolean().default(true),
  })
  .strict();

export type CreateDestinationBody = z.input<typeof createDestinationBodySchema>;

const restreamStateSchema = z.object({
  state: z.enum(RESTREAM_STATES),
  reason: z.string().optional(),
  retryInMs: z.number().optional(),
  failures: z.number(),
  video: z.enum(['copy', 'transcode']).optional(),
  since: z.string(),
});

export const restreamStateEventSchema = z.object({ streamId: z.string(), destinationId: z.string(), status: restreamStateSchema });

export const destinationInfoSchema = z.object({
  id: z.string(),
  streamId: z.string(),
  name: z.string(),
  url: z.string(),
  streamKeyHint: z.string(),
  enabled: z.boolean(),
  createdAt: z.string(),
  status: restreamStateSchema,
});

export const destinationListSchema = z.object({ destinations: z.array(destinationInfoSchema) });
