/**
 * Stream health of an encoder's broadcast (WHIP, RTMP, SRT) as the studio sees it: what the server measures
 * on the broadcast's producers (server/ingest/health) and the warnings it draws from that. Pushed to the
 * stream's owner as the `ingest:health` socket event while live, and once more when the broadcast ends (with
 * the reason: the studio shows why an encoder's broadcast stopped, such as VP8 without PictureID).
 * Validated at runtime with the schema below before the studio shows it.
 */
import { z } from 'zod';

export const INGEST_SOURCES = ['whip', 'rtmp', 'srt'] as const;
export type IngestSource = (typeof INGEST_SOURCES)[number];

/**
 * bitrate_low: video far below what its size needs; keyframe_interval: keyframes too far apart (viewers who
 * join and HLS segments wait for one); fps_low; audio_missing: no audio track, or no audio arriving;
 * video_missing: no video arriving; packet_loss: RTP lost on the way in (WHIP, or the studio's browser);
 * rtt_high: the studio's browser publish has a long round trip to the server.
 */
export const HEALTH_WARNINGS = ['bitrate_low', 'keyframe_interval', 'fps_low', 'audio_missing', 'video_missing', 'packet_loss', 'rtt_high'] as const;
export type HealthWarningCode = (typeof HEALTH_WARNINGS)[number];

export interface HealthWarning {
  code: HealthWarningCode;
  /** For the broadcaster, with what to change. */
  message: string;
}

export interface IngestMeasurement {
  /** Over the last poll: kbit/s as received by the SFU. */
  videoKbps: number;
  audioKbps: number;
  /** Distinct video frames per second in the last sample; null until one was taken. */
  fps: number | null;
  /** Seconds between the last two keyframes; null until two were seen. */
  keyframeIntervalSeconds: number | null;
  /** Seconds since the last keyframe; null until one was seen. */
  sinceKeyframeSeconds: number | null;
  /** Picture height the publisher sends, when known. */
  height: number | null;
  /** Percentage of RTP packets lost on the way in over the last poll. */
  lossPercent: number;
}

export interface IngestHealthEvent {
  streamId: string;
  source: IngestSource;
  state: 'live' | 'ended';
  measured: IngestMeasurement;
  warnings: HealthWarning[];
  /** state 'ended': why the broadcast ended. */
  reason?: string | undefined;
  /** ISO time of the measurement. */
  at: string;
}

export const ingestHealthEventSchema = z.object({
  streamId: z.string().max(64),
  source: z.enum(INGEST_SOURCES),
  state: z.enum(['live', 'ended']),
  measured: z.object({
    videoKbps: z.number().nonnegative(),
    audioKbps: z.number().nonnegative(),
    fps: z.number().nonnegative().nullable(),
    keyframeIntervalSeconds: z.number().nonnegative().nullable(),
    sinceKeyframeSeconds: z.number().nonnegative().nullable(),
    height: z.number().int().positive().nullable(),
    lossPercent: z.number().min(0).max(100),
  }),
  warnings: z.array(z.object({ code: z.enum(HEALTH_WARNINGS), message: z.string().max(500) })).max(HEALTH_WARNINGS.length),
  reason: z.string().max(1000).optional(),
  at: z.string().max(40),
});
