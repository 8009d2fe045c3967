/**
 * Measures one encoder's broadcast (WHIP, RTMP or SRT) from its producers and reports it (`report`) every
 * `pollMs`, with the warnings of healthRules.ts; once more when the broadcast ends, with the reason. A
 * BroadcastOutput named "health": the broadcast pushes its media (`update`) and closes it at the end. A
 * broadcast from the studio (whose page measures its own sending) is left alone.
 *
 * What is read, and why this way:
 * - bitrates and loss from `producer.getStats()` deltas (bytes, packets, packets lost) between two polls;
 * - keyframes from the video producer's 'keyframe' trace events (one per keyframe packet, so deduplicated by
 *   SSRC and RTP timestamp): the interval between the last two, and the time since the last;
 * - frames per second from a sample of the 'rtp' trace (`fpsSampleMs` out of every `fpsEveryMs`: every
 *   packet crosses the worker channel while it is on, so it is never left on): distinct RTP timestamps of the
 *   busiest SSRC, retransmissions excluded.
 *
 * Lifetime: made per broadcast by the output factory; it owns its poll and sample timers and the trace
 * listener on the current video producer (moved when the media changes, dropped at `close`). `close()` is
 * idempotent and settles at once.
 */
import type { types } from 'mediasoup';
import { INGEST_SOURCES, type IngestHealthEvent, type IngestMeasurement, type IngestSource } from '../../../shared/ingestHealth.js';
import type { BroadcastMedia, BroadcastOutput } from '../../live/BroadcastOutput.js';
import type { Logger } from '../../log/logger.js';
import { HEALTH_THRESHOLDS, healthWarnings, type HealthThresholds } from './healthRules.js';

export interface HealthSettings {
  pollMs: number;
  fpsEveryMs: number;
  fpsSampleMs: number;
  thresholds: HealthThresholds;
}

export const HEALTH_SETTINGS: HealthSettings = { pollMs: 2000, fpsEveryMs: 10_000, fpsSampleMs: 2000, thresholds: HEALTH_THRESHOLDS };

interface Counters {
  at: number;
  videoBytes: number;
  audioBytes: number;
  packets: number;
  lost: number;
}

interface TraceInfo {
  ssrc?: number;
  timestamp?: number;
  isRtx?: boolean;
}

const ingestSource = (p: types.Producer | undefined): IngestSource | undefined => {
  const source = p?.appData.source;
  return INGEST_SOURCES.find((s) => s === source);
};

export class IngestHealthMonitor implements BroadcastOutput {
  readonly name = 'health';
  readonly #streamId: string;
  readonly #settings: HealthSettings;
  readonly #report: (e: IngestHealthEvent) => void;
  readonly #log: Logger;
  #media: BroadcastMedia | undefined;
  #source: IngestSource | undefined;
  #traced: types.Producer | undefined;
  #poll: NodeJS.Timeout | undefined;
  #sampleTimer: NodeJS.Timeout | undefined;
  #sampleEnd: NodeJS.Timeout | undefined;
  #last: Counters | undefined;
  #measured: IngestMeasurement = { videoKbps: 0, audioKbps: 0, fps: null, keyframeIntervalSeconds: null, sinceKeyframeSeconds: null, height: null, lossPercent: 0 };
  /** Per SSRC: RTP timestamp and arrival of the last keyframe, and the interval before it. */
  readonly #keyframes = new Map<number, { rtpTs: number; at: number; intervalMs: number | null }>();
  /** The running fps sample: distinct RTP timestamps per SSRC. */
  #sample: { startedAt: number; frames: Map<number, Set<number>> } | undefined;
  #polling = false;
  #closed = false;

  constructor(streamId: string, opts: { settings?: HealthSettings; report: (e: IngestHealthEvent) => void; logger: Logger }) {
    this.#streamId = streamId;
    this.#settings = opts.settings ?? HEALTH_SETTINGS;
    this.#report = opts.report;
    this.#log = opts.logger;
  }

  update(media: BroadcastMedia): void {
    if (this.#closed) return;
    this.#media = media;
    this.#source ??= ingestSource(media.video) ?? ingestSource(media.audio);
    if (!this.#source) return;
    if (media.video !== this.#traced) this.#trace(media.video);
    if (!this.#poll) {
      this.#poll = setInterval(() => void this.#tick(), this.#settings.pollMs);
      this.#sampleTimer = setInterval(() => this.#startSample(), this.#settings.fpsEveryMs);
      // The first fps sample soon after the start, not a whole period later.
      this.#sampleEnd = setTimeout(() => this.#startSample(), Math.min(this.#settings.pollMs, this.#settings.fpsEveryMs));
    }
  }

  async close(reason: string): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#poll);
    clearInterval(this.#sampleTimer);
    clearTimeout(this.#sampleEnd);
    this.#trace(undefined);
    if (this.#source) this.#emit('ended', reason);
  }

  #trace(video: types.Producer | undefined): void {
    const old = this.#traced;
    if (old) {
      old.off('trace', this.#onTrace);
      if (!old.closed) void old.enableTraceEvent([]).catch(() => undefined);
    }
    this.#traced = video;
    this.#keyframes.clear();
    this.#sample = undefined;
    if (!video) return;
    video.on('trace', this.#onTrace);
    void video.enableTraceEvent(['keyframe']).catch(() => undefined);
  }

  readonly #onTrace = (e: types.ProducerTraceEventData): void => {
    const info = e.info as TraceInfo;
    if (info.isRtx || info.ssrc === undefined || info.timestamp === undefined) return;
    const now = Date.now();
    if (e.type === 'keyframe') {
      const last = this.#keyframes.get(info.ssrc);
      if (last?.rtpTs === info.timestamp) return;
      this.#keyframes.set(info.ssrc, { rtpTs: info.timestamp, at: now, intervalMs: last ? now - last.at : null });
    } else if (e.type === 'rtp' && this.#sample) {
      let frames = this.#sample.frames.get(info.ssrc);
      if (!frames) this.#sample.frames.set(info.ssrc, (frames = new Set()));
      frames.add(info.timestamp);
    }
  };

  #startSample(): void {
    const video = this.#traced;
    if (this.#closed || !video || video.closed || this.#sample) return;
    this.#sample = { startedAt: Date.now(), frames: new Map() };
    void video.enableTraceEvent(['keyframe', 'rtp']).catch(() => undefined);
    clearTimeout(this.#sampleEnd);
    this.#sampleEnd = setTimeout(() => this.#endSample(video), this.#settings.fpsSampleMs);
  }

  #endSample(video: types.Producer): void {
    const sample = this.#sample;
    this.#sample = undefined;
    if (this.#closed || video !== this.#traced || !sample) return;
    if (!video.closed) void video.enableTraceEvent(['keyframe']).catch(() => undefined);
    const seconds = (Date.now() - sample.startedAt) / 1000;
    const frames = Math.max(0, ...[...sample.frames.values()].map((s) => s.size));
    // One frame is counted at each end of the window: n timestamps span n - 1 frame intervals.
    if (seconds > 0) this.#measured.fps = Math.round((Math.max(0, frames - 1) / seconds) * 10) / 10;
  }

  async #tick(): Promise<void> {
    const m = this.#media;
    if (this.#closed || this.#polling || !m) return;
    this.#polling = true;
    try {
      const stats = async (p: types.Producer | undefined) => (p && !p.closed ? p.getStats().catch(() => []) : []);
      const [v, a] = await Promise.all([stats(m.video), stats(m.audio)]);
      if (this.#closed) return;
      const sum = (list: types.ProducerStat[], key: 'byteCount' | 'packetCount' | 'packetsLost') => list.reduce((n, s) => n + (s[key] ?? 0), 0);
      const now: Counters = {
        at: Date.now(),
        videoBytes: sum(v, 'byteCount'),
        audioBytes: sum(a, 'byteCount'),
        packets: sum(v, 'packetCount') + sum(a, 'packetCount'),
        lost: sum(v, 'packetsLost') + sum(a, 'packetsLost'),
      };
      const last = this.#last;
      this.#last = now;
      if (!last) return;
      const seconds = (now.at - last.at) / 1000;
      const kbps = (bytes: number) => Math.max(0, Math.round((bytes * 8) / seconds / 100) / 10);
      const packets = Math.max(0, now.packets - last.packets);
      const lost = Math.max(0, now.lost - last.lost);
      const keyframe = [...this.#keyframes.values()].sort((x, y) => y.at - x.at)[0];
      const height = m.video?.appData.height;
      this.#measured = {
        ...this.#measured,
        videoKbps: kbps(now.videoBytes - last.videoBytes),
        audioKbps: kbps(now.audioBytes - last.audioBytes),
        keyframeIntervalSeconds: keyframe?.intervalMs != null ? keyframe.intervalMs / 1000 : null,
        sinceKeyframeSeconds: keyframe ? (now.at - keyframe.at) / 1000 : null,
        height: typeof height === 'number' && height > 0 ? height : null,
        lossPercent: packets + lost > 0 ? Math.round((lost / (packets + lost)) * 1000) / 10 : 0,
      };
      this.#emit('live');
    } catch (err) {
      this.#log.debug({ err }, 'health poll failed');
    } finally {
      this.#polling = false;
    }
  }

  #emit(state: 'live' | 'ended', reason?: string): void {
    const m = this.#media;
    const source = this.#source;
    if (!source) return;
    const warnings =
      state === 'live'
        ? healthWarnings(this.#measured, { source, hasVideo: !!m?.video && !m.video.closed, hasAudio: !!m?.audio && !m.audio.closed }, this.#settings.thresholds)
        : [];
    try {
      this.#report({ streamId: this.#streamId, source, state, measured: { ...this.#measured }, warnings, ...(reason ? { reason } : {}), at: new Date().toISOString() });
    } catch (err) {
      this.#log.warn({ err }, 'health report listener failed');
    }
  }
}
