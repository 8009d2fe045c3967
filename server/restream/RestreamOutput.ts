/**
 * One restream destination of one live broadcast (a BroadcastOutput named "restream:<destination id>"):
 * consumes the broadcast's video and audio through PlainTransports into its own ffmpeg, which pushes FLV to
 * the destination over RTMP(S). Its state (idle, connecting, live, failed, retrying) is emitted on every
 * change.
 *
 * Lifetime: RestreamGroup makes one per enabled destination of a live stream (at the start, or when the
 * owner adds one while live) and closes it at the broadcast's end or when the destination is removed. It
 * owns every attempt (one ffmpeg, its transports, consumers and ports) and its temp folder (the SDP files).
 *
 * Guards, and why:
 * - A failing destination never disturbs anything else: its ffmpeg, transports and ports are its own; an
 *   exit unasked (refused, dropped, stalled: `-rw_timeout`) is logged, shown as failed with ffmpeg's reason,
 *   and retried after an exponential back-off (base × 2^(failures-1), capped), reset after a long live run.
 * - Attempts are serialised (one queue): each update compares the running attempt's router and producers
 *   with the newest media and replaces the attempt when they differ (republish, worker death).
 * - A video without audio waits `audioWaitMs` for the audio (the studio produces video, then audio): one
 *   connection to the platform instead of two in a row.
 * - "live" is decided on ffmpeg's own progress report (fd 3): bytes written and media time advancing mean
 *   the destination accepted the publish and takes media.
 * - `close()` abandons a start at its next await, stops a running ffmpeg with SIGINT while the media still
 *   flows (FLV trailer, clean RTMP close: the platform ends the broadcast properly), SIGKILL after the bound;
 *   then transports close and ports go back. Idempotent; never rejects.
 * - A key that could not be decrypted (`target` is an Error) never starts ffmpeg: failed, with the reason.
 * - The stream key never leaves in a reason: ffmpeg's messages quote the output URL, key included, so every
 *   reason has the key replaced by `<key>` before it is logged, stored in the state or sent to the studio.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import type { types } from 'mediasoup';
import type { RestreamState } from '../../shared/restream.js';
import { FfmpegProcess, type FfmpegExit } from '../ffmpeg/FfmpegProcess.js';
import type { PortPool } from '../hls/PortPool.js';
import { rtpSdp } from '../hls/rtpSdp.js';
import type { BroadcastMedia, BroadcastOutput } from '../live/BroadcastOutput.js';
import type { Logger } from '../log/logger.js';
import { feedWhenListening, plainConsume, releaseHeld, type HeldMedia } from '../ffmpeg/plainConsume.js';
import { restreamArgs, rtmpTarget } from './restreamArgs.js';

export interface RestreamSettings {
  fps: number;
  videoKbps: number;
  audioKbps: number;
  keyframeSeconds: number;
  inputTimeoutSeconds: number;
  ioTimeoutSeconds: number;
  /** SIGINT → SIGKILL bound. */
  killAfterMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** A run live this long resets the back-off. */
  stableAfterMs: number;
  audioWaitMs: number;
  /** The ffmpeg program (tests may wrap it). */
  ffmpegCommand?: string;
}

interface Attempt extends HeldMedia {
  n: number;
  router: types.Router;
  producerIds: string[];
  proc: FfmpegProcess | undefined;
  timers: NodeJS.Timeout[];
  liveSince: number | undefined;
}

export interface RestreamOutputEvents {
  state: [RestreamState];
}

class OutputClosedError extends Error {
  override name = 'OutputClosedError';
}

export class RestreamOutput extends EventEmitter<RestreamOutputEvents> implements BroadcastOutput {
  readonly name: string;
  readonly destinationId: string;
  readonly #target: { url: string; key: string } | Error;
  readonly #settings: RestreamSettings;
  readonly #ports: PortPool;
  readonly #log: Logger;
  readonly #abort = new AbortController();
  readonly #dir: string;
  #status: RestreamState = { state: 'idle', failures: 0, since: new Date().toISOString() };
  #media: BroadcastMedia | undefined;
  #attempt: Attempt | undefined;
  #attempts = 0;
  #queue: Promise<void> = Promise.resolve();
  #closing: Promise<void> | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #audioTimer: NodeJS.Timeout | undefined;
  /** The video producer whose audio we already waited for. */
  #waitedFor: string | undefined;
  readonly #endings = new Set<Promise<void>>();

  constructor(opts: { destinationId: string; target: { url: string; key: string } | Error; settings: RestreamSettings; ports: PortPool; logger: Logger }) {
    super();
    this.destinationId = opts.destinationId;
    this.name = `restream:${opts.destinationId}`;
    this.#target = opts.target;
    this.#settings = opts.settings;
    this.#ports = opts.ports;
    this.#log = opts.logger;
    this.#dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onair-restream-'));
    if (this.#target instanceof Error) this.#set({ state: 'failed', reason: this.#target.message });
  }

  get status(): RestreamState {
    return this.#status;
  }

  /** The running ffmpeg's pid, if any. */
  get pid(): number | undefined {
    return this.#attempt?.proc?.pid;
  }

  get closed(): boolean {
    return this.#abort.signal.aborted;
  }

  update(media: BroadcastMedia): void {
    if (this.closed) return;
    this.#media = media;
    this.#schedule();
  }

  close(reason: string): Promise<void> {
    this.#closing ??= this.#close(reason);
    return this.#closing;
  }

  async #close(reason: string): Promise<void> {
    this.#abort.abort();
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#audioTimer);
    try {
      await this.#queue;
      await Promise.all(this.#endings);
      if (this.#attempt) await this.#endAttempt(this.#attempt, 'stop');
      this.#log.info({ reason }, 'restream closed');
    } catch (err) {
      this.#log.error({ err }, 'restream did not close cleanly');
    } finally {
      fs.rmSync(this.#dir, { recursive: true, force: true });
      if (this.#status.state !== 'failed' || !(this.#target instanceof Error)) this.#set({ state: 'idle', failures: 0 });
    }
  }

  #set(s: Omit<RestreamState, 'since' | 'failures'> & { failures?: number }): void {
    this.#status = { failures: this.#status.failures, ...s, since: new Date().toISOString() };
    this.emit('state', this.#status);
  }

  #schedule(): void {
    this.#queue = this.#queue
      .then(() => this.#refresh())
      .catch((err: unknown) => {
        if (err instanceof OutputClosedError || this.closed) this.#log.debug({ err }, 'restream start abandoned: closed');
        else this.#failed(err instanceof Error ? err.message : String(err));
      });
  }

  async #refresh(): Promise<void> {
    if (this.closed || this.#target instanceof Error || this.#retryTimer) return;
    const m = this.#media;
    const video = m && !m.router.closed && m.video && !m.video.closed ? m.video : undefined;
    const audio = m && video && m.audio && !m.audio.closed ? m.audio : undefined;
    const wanted = [video, audio].flatMap((p) => (p ? [p.id] : []));
    const a = this.#attempt;
    if (a) {
      const same = !!m && a.proc?.running === true && a.router === m.router && a.consumers.every((c) => !c.closed) && a.producerIds.length === wanted.length && a.producerIds.every((id) => wanted.includes(id));
      if (same) return;
      const fed = !a.router.closed && a.consumers.length > 0 && a.consumers.every((c) => !c.closed && !c.producerPaused);
      await this.#endAttempt(a, fed ? 'stop' : 'kill');
    }
    if (!m || !video) {
      if (this.#status.state !== 'idle') this.#set({ state: 'idle' });
      return;
    }
    if (!audio && this.#waitedFor !== video.id) {
      // Give the audio a moment to arrive (the studio produces it just after the video).
      this.#waitedFor = video.id;
      clearTimeout(this.#audioTimer);
      this.#audioTimer = setTimeout(() => this.#schedule(), this.#settings.audioWaitMs);
      return;
    }
    await this.#startAttempt(m.router, video, audio);
  }

  #checkOpen(): void {
    if (this.closed) throw new OutputClosedError('closed while starting');
  }

  async #startAttempt(router: types.Router, video: types.Producer, audio: types.Producer | undefined): Promise<void> {
    const s = this.#settings;
    const n = ++this.#attempts;
    const attempt: Attempt = { n, router, producerIds: [video.id, ...(audio ? [audio.id] : [])], proc: undefined, transports: [], consumers: [], ports: [], timers: [], liveSince: undefined };
    try {
      const v = await plainConsume(router, video, this.#ports, attempt, () => this.#checkOpen());
      const inputs = [v.input];
      if (audio) inputs.push((await plainConsume(router, audio, this.#ports, attempt, () => this.#checkOpen())).input);
      const sdpPath = path.join(this.#dir, `attempt${n}.sdp`);
      fs.writeFileSync(sdpPath, rtpSdp(inputs));
      const copyVideo = v.input.codec.toUpperCase() === 'H264';
      const args = restreamArgs({
        sdpPath, target: rtmpTarget((this.#target as { url: string; key: string }).url, (this.#target as { url: string; key: string }).key), copyVideo, hasAudio: !!audio, fps: s.fps, videoKbps: s.videoKbps, audioKbps: s.audioKbps,
        keyframeSeconds: s.keyframeSeconds, inputTimeoutSeconds: s.inputTimeoutSeconds, ioTimeoutSeconds: s.ioTimeoutSeconds,
      });
      this.#set({ state: 'connecting', video: copyVideo ? 'copy' : 'transcode' });
      const proc = FfmpegProcess.spawnPiped(
        { args, pipes: 1, ...(s.ffmpegCommand ? { command: s.ffmpegCommand } : {}) },
        // The command line holds the stream key: FfmpegProcess logs it at debug level only.
        { name: `${this.name} #${n}`, stopTimeoutMs: s.killAfterMs, logger: this.#log, startLogLevel: 'debug' },
      );
      attempt.proc = proc;
      this.#attempt = attempt;
      this.#watchProgress(attempt, proc);
      void proc.exited.then((exit) => this.#onExit(attempt, exit));
      this.#log.info({ attempt: n, video: copyVideo ? 'copy' : 'transcode', audio: !!audio, pid: proc.pid }, 'restream connecting');

      // Copying H.264: platforms want a keyframe every 2-4 s.
      await feedWhenListening(attempt, v.consumer, {
        signal: this.#abort.signal, checkOpen: () => this.#checkOpen(), ...(copyVideo ? { keyframeEveryMs: s.keyframeSeconds * 1000 } : {}),
      });
    } catch (err) {
      await this.#endAttempt(attempt, 'kill');
      throw this.closed ? new OutputClosedError('closed while starting', { cause: err }) : err;
    }
  }

  /** ffmpeg's `-progress` blocks: bytes out and media time advancing = the destination takes media. */
  #watchProgress(attempt: Attempt, proc: FfmpegProcess): void {
    const pipe = proc.outputs[0];
    if (!pipe) return;
    let size = 0;
    let time = 0;
    readline.createInterface({ input: pipe }).on('line', (line) => {
      const [k, v] = line.split('=', 2);
      if (k === 'total_size') size = Number(v) || 0;
      else if (k === 'out_time_us') time = Number(v) || 0;
      else if (k === 'progress' && size > 0 && time > 0 && attempt.liveSince === undefined && this.#attempt === attempt && !this.closed) {
        attempt.liveSince = Date.now();
        this.#set({ state: 'live', reason: undefined, retryInMs: undefined, video: this.#status.video });
        this.#log.info({ attempt: attempt.n }, 'restream live');
      }
    });
  }

  #onExit(attempt: Attempt, exit: FfmpegExit): void {
    if (exit.requested || this.#attempt !== attempt) return;
    const ending = this.#endAttempt(attempt, 'kill');
    this.#endings.add(ending);
    void ending.finally(() => this.#endings.delete(ending));
    if (this.closed) return;
    const stable = attempt.liveSince !== undefined && Date.now() - attempt.liveSince >= this.#settings.stableAfterMs;
    if (stable) this.#status = { ...this.#status, failures: 0 };
    this.#failed(exit.error ?? `ffmpeg exited (code ${exit.code}, signal ${exit.signal})`);
  }

  /** An attempt failed: say why, then retry after the back-off. */
  #failed(reason: string): void {
    if (this.closed) return;
    const failures = this.#status.failures + 1;
    const delayMs = Math.min(this.#settings.retryMaxMs, this.#settings.retryBaseMs * 2 ** (failures - 1));
    const key = this.#target instanceof Error ? undefined : this.#target.key;
    const short = (key ? reason.split(key).join('<key>') : reason).replace(/\s+/g, ' ').slice(0, 400);
    this.#log.warn({ failures, reason: short, retryInMs: delayMs }, 'restream failed; retrying');
    this.#set({ state: 'failed', reason: short, failures, video: this.#status.video });
    this.#set({ state: 'retrying', reason: short, retryInMs: delayMs, failures, video: this.#status.video });
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#schedule();
    }, delayMs);
  }

  /** 'stop' (SIGINT, SIGKILL after the bound) while media flows; 'kill' when the input is gone. Idempotent. */
  async #endAttempt(attempt: Attempt, how: 'stop' | 'kill'): Promise<void> {
    if (this.#attempt === attempt) this.#attempt = undefined;
    for (const t of attempt.timers) clearTimeout(t);
    attempt.timers = [];
    if (attempt.proc) await (how === 'stop' ? attempt.proc.stop() : attempt.proc.kill());
    releaseHeld(attempt, this.#ports);
  }
}
