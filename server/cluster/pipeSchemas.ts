/**
 * The wire contract of media pipes between nodes (RemotePipe), validated on both ends with zod: the other
 * node is another process, maybe another version, and a request that reaches a route has only proved it
 * knows the cluster secret.
 *
 *   POST   /internal/pipes                 edge → origin: open a pipe for a stream (edge tuple in, origin tuple,
 *                                          fencing token and producers out)
 *   POST   /internal/pipes/:pipeId/update  origin → edge: producers added/removed/paused/resumed, or closed
 *   DELETE /internal/pipes/:pipeId         edge → origin: the edge no longer needs the pipe
 *   POST   /internal/streams/handover      a node → the origin: hand the stream over (resume key hash in)
 */
import net from 'node:net';
import { z } from 'zod';

/** Stream ids as the catalogue makes them (letters, digits, - and _). */
export const streamIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'invalid stream id');
/** Chosen by the edge, unique per edge node. */
export const pipeIdSchema = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'invalid pipe id');
const producerIdSchema = z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'invalid producer id');

const srtpSchema = z.object({
  cryptoSuite: z.enum(['AEAD_AES_256_GCM', 'AEAD_AES_128_GCM', 'AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32']),
  keyBase64: z.string().regex(/^[A-Za-z0-9+/]{20,120}={0,2}$/, 'invalid SRTP key'),
});

export const pipeTupleSchema = z.object({
  ip: z.string().refine((v) => net.isIP(v) !== 0, 'not an IP address'),
  port: z.number().int().min(1).max(65535),
  srtpParameters: srtpSchema,
});
export type PipeTuple = z.infer<typeof pipeTupleSchema>;

const paramValue = z.union([z.string().max(256), z.number(), z.boolean()]);

/** mediasoup's RtpParameters, bounded (the worker checks their meaning). */
const rtpParametersSchema = z.object({
  mid: z.string().max(32).optional(),
  codecs: z
    .array(
      z.object({
        mimeType: z.string().regex(/^(audio|video)\/[A-Za-z0-9.+-]{1,32}$/),
        payloadType: z.number().int().min(0).max(127),
        clockRate: z.number().int().min(1).max(1_000_000),
        channels: z.number().int().min(1).max(8).optional(),
        parameters: z.record(z.string().max(64), paramValue).optional(),
        rtcpFeedback: z.array(z.object({ type: z.string().max(32), parameter: z.string().max(32).optional() })).max(16).optional(),
      }),
    )
    .min(1)
    .max(16),
  headerExtensions: z
    .array(
      z.object({
        uri: z.string().max(256),
        id: z.number().int().min(1).max(255),
        encrypt: z.boolean().optional(),
        parameters: z.record(z.string().max(64), paramValue).optional(),
      }),
    )
    .max(16)
    .optional(),
  encodings: z
    .array(
      z.object({
        ssrc: z.number().int().min(0).max(0xffffffff).optional(),
        rid: z.string().max(32).optional(),
        codecPayloadType: z.number().int().min(0).max(127).optional(),
        rtx: z.object({ ssrc: z.number().int().min(0).max(0xffffffff) }).optional(),
        dtx: z.boolean().optional(),
        scalabilityMode: z.string().max(16).optional(),
        scaleResolutionDownBy: z.number().min(1).max(64).optional(),
        maxBitrate: z.number().int().min(0).optional(),
      }),
    )
    .max(8)
    .optional(),
  rtcp: z.object({ cname: z.string().max(256).optional(), reducedSize: z.boolean().optional(), mux: z.boolean().optional() }).optional(),
});

export const pipedProducerSchema = z.object({
  id: producerIdSchema,
  kind: z.enum(['audio', 'video']),
  rtpParameters: rtpParametersSchema,
  paused: z.boolean(),
  /** The producer's app data the viewers need (its source, its capture height). */
  appData: z.object({ source: z.string().max(32).optional(), height: z.number().int().min(0).max(10_000).optional() }).default({}),
});
export type PipedProducer = z.infer<typeof pipedProducerSchema>;

export const openPipeRequestSchema = z.object({
  streamId: streamIdSchema,
  pipeId: pipeIdSchema,
  /** Where the edge's pipe transport listens. */
  edge: pipeTupleSchema,
});
export type OpenPipeRequest = z.infer<typeof openPipeRequestSchema>;

/**
 * The origin broadcast's state: `reconnecting` while its publisher is away (no producers until it comes back
 * within the grace period). The edge's relay follows it, so that its viewers hear `broadcast:reconnecting`.
 */
export const pipeStateSchema = z.enum(['live', 'reconnecting']);
export type PipeState = z.infer<typeof pipeStateSchema>;

export const openPipeAnswerSchema = z.object({
  /** The origin's lease token for the stream: updates of this pipe carry it. */
  token: z.number().int().min(1),
  origin: pipeTupleSchema,
  producers: z.array(pipedProducerSchema).max(16),
  state: pipeStateSchema.default('live'),
});
export type OpenPipeAnswer = z.infer<typeof openPipeAnswerSchema>;

export const pipeUpdateSchema = z.object({
  token: z.number().int().min(1),
  add: z.array(pipedProducerSchema).max(16).default([]),
  remove: z.array(producerIdSchema).max(16).default([]),
  pause: z.array(producerIdSchema).max(16).default([]),
  resume: z.array(producerIdSchema).max(16).default([]),
  /** The broadcast's state changed (told before the producer changes of the same update). */
  state: pipeStateSchema.optional(),
  /**
   * The origin closed the pipe: the edge closes its end. `ended`: the broadcast is over (the edge's viewers
   * are told it ended); otherwise it goes on elsewhere (moved to a new router, lease lost, the origin node
   * shutting down): the edge pipes again from whichever node is the origin then.
   */
  closed: z.object({ reason: z.string().max(200), ended: z.boolean().default(false) }).optional(),
});
export type PipeUpdate = z.infer<typeof pipeUpdateSchema>;

/**
 * `POST /internal/streams/handover` (a node whose publisher presented the stream's resume key → the origin):
 * the origin checks the key's SHA-256 against its broadcast's and hands the stream over.
 */
export const handoverRequestSchema = z.object({
  streamId: streamIdSchema,
  resumeKeyHash: z.string().regex(/^[0-9a-f]{64}$/, 'a hex SHA-256'),
});

export const emptySchema = z.object({}).strict();
export const okSchema = z.object({ ok: z.literal(true) });
