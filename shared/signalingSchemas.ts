/**
 * zod schemas of the signaling contract's payloads (shared/signaling.ts has the contract's types). The
 * server validates every payload with these; browser pages do not import this file (it would bundle zod).
 */
import { z } from 'zod';
import { streamIdSchema } from './apiSchemas.js';
import { chatRequestSchemas } from './chatSchemas.js';
import { SOURCES } from './signaling.js';

const id = z.string().min(1).max(64);
/** A UTF-16 surrogate without its other half. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Whether `value` nests at most `maxDepth` levels, would serialize to about `maxChars` at most, and holds
 * only well-formed strings. Walks without recursion: a hostile payload may nest ~50,000 levels in one
 * socket.io packet, which overflows the stack of anything recursive (JSON.stringify included). A lone
 * surrogate, in a key or a value, makes mediasoup's worker drop the whole request unanswered, and
 * mediasoup 3.12 waits for that answer forever.
 */
export function isBoundedJson(value: unknown, maxDepth: number, maxChars: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  let chars = 0;
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (depth > maxDepth) return false;
    if (Array.isArray(v)) {
      chars += 2 + v.length;
      for (const x of v) stack.push([x, depth + 1]);
    } else if (v !== null && typeof v === 'object') {
      chars += 2;
      for (const [k, x] of Object.entries(v)) {
        if (LONE_SURROGATE.test(k)) return false;
        chars += k.length + 4;
        stack.push([x, depth + 1]);
      }
    } else if (typeof v === 'string') {
      if (LONE_SURROGATE.test(v)) return false;
      chars += v.length + 2;
    } else {
      chars += 8;
    }
    if (chars > maxChars) return false;
  }
  return true;
}

/** mediasoup's opaque parameter objects: validated as bounded JSON objects, then checked by mediasoup itself. */
const jsonObject = z
  .record(z.unknown())
  .refine((o) => isBoundedJson(o, 16, 64 * 1024), 'too large, too deeply nested, or holds a malformed string');

export const requestSchemas = {
  /**
   * Viewer: join a stream's audience; returns its state and, when live, its producers. `recvTransport`: when
   * the stream is live and has a WebRTC seat for this viewer, the answer also carries a receive transport, made
   * at once (as `transport:create` would, one round trip sooner).
   */
  'viewer:join': z.object({ streamId: streamIdSchema, token: z.string().max(4096).optional(), recvTransport: z.boolean().optional() }).strict(),
  /** Viewer: leave the audience (also done by disconnecting). */
  'viewer:leave': z.object({}).strict(),
  /**
   * Broadcaster: start (or resume, after a drop) broadcasting into one of their streams. `sendTransport`: the
   * answer also carries a send transport, made at once (as `transport:create` would, one round trip sooner).
   */
  'broadcast:start': z.object({ streamId: streamIdSchema, resumeKey: z.string().max(64).optional(), sendTransport: z.boolean().optional() }).strict(),
  /** Broadcaster: end the broadcast. */
  'broadcast:stop': z.object({}).strict(),
  /** Either role: a WebRTC transport for sending (broadcaster) or receiving (viewer). */
  'transport:create': z.object({ direction: z.enum(['send', 'recv']) }).strict(),
  'transport:connect': z.object({ transportId: id, dtlsParameters: jsonObject }).strict(),
  /** Broadcaster: a new track. */
  produce: z
    .object({
      transportId: id,
      kind: z.enum(['audio', 'video']),
      rtpParameters: jsonObject,
      source: z.enum(SOURCES),
      /** Capture height of a video track: the HLS ladder never goes above it. */
      height: z.number().int().min(16).max(4320).optional(),
    })
    .strict(),
  'producer:close': z.object({ producerId: id }).strict(),
  /** Viewer: receive one of the broadcast's producers. Starts paused; resume when ready. */
  consume: z.object({ producerId: id, rtpCapabilities: jsonObject }).strict(),
  'consumer:resume': z.object({ consumerId: id }).strict(),
  /** Viewer: a fixed simulcast layer (0 = lowest), or null for automatic choice by bandwidth. */
  'consumer:layers': z.object({ consumerId: id, spatialLayer: z.number().int().min(0).max(3).nullable() }).strict(),
  /** The live chat (shared/chatSchemas.ts). */
  ...chatRequestSchemas,
} as const;

/** socket.io handshake `auth`: an access token makes the socket a broadcaster's. */
export const handshakeAuthSchema = z.object({ token: z.string().max(4096).optional() }).passthrough();
