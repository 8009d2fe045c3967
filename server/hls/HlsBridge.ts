/**
 * The HLS output of one broadcast (a BroadcastOutput named "hls"): consumes the broadcast's top video layer
 * and its audio through mediasoup PlainTransports into ffmpeg, which writes the ladder as fragmented MP4 to
 * one pipe per rung; a LiveLadder cuts the fragments into LL-HLS parts and segments (served live from
 * memory by hlsRoutes) and writes segments, inits and segment journals to the session folder, which is also
 * the broadcast's recording (ordinary VOD playlists once ended).
 *
 * Lifetime: HlsService makes one per new broadcast; the broadcast pushes its media (`update`) and, at its end,
 * awaits `close()` before its router closes. The bridge owns everything it creates: its epochs (each one
 * FfmpegProcess, its PlainTransports and consumers, its ports), its session folder and its recording row.
 *
 * - Nothing exists before the first video: the folder, session.json and the recording row come with the first
 *   epoch. A session without media (no master playlist, under MIN_RECORDING_SECONDS of segments) is removed
 *   at close, row and folder: never a 0 s recording.
 * - Each ffmpeg run is an epoch with its own folder (its input.sdp); the packagers go on across epochs: a new
 *   run's init segments open a discontinuity with a new EXT-X-MAP, numbering continues. The session's
 *   ladder is fixed by its first epoch (the playlists' renditions never change mid-session).
 * - Go-live is on the clock (the first part is what an HLS viewer waits for): a video producer that comes
 *   without audio waits up to AUDIO_WAIT_MS for it (a browser sends its audio a moment after its video; a
 *   run on the video alone would be replaced at once); the session's row is written while ffmpeg starts;
 *   consumers resume as soon as ffmpeg listens on its ports (server/ffmpeg/untilListening.ts), not after a
 *   fixed wait.
 *   Epochs are serialised: each update queues a refresh, which compares the running epoch's router and
 *   producers with the newest media and replaces the epoch when they differ (the studio produces video, then
 *   audio: without a restart the recording would be silent; a republish; a new router after a worker died).
 * - A replaced epoch whose producers still send is stopped with SIGINT (its last segment is kept); one whose
 *   input is gone is killed (ffmpeg would wait for its input timeout to notice).
 * - An ffmpeg that exits unasked is replaced after `restartDelayMs` (longer after repeated early deaths),
 *   from the newest media.
 * - `close()`: an epoch being started is abandoned at its next await (its ffmpeg killed, transports closed,
 *   ports given back: an end while ffmpeg is still starting leaves nothing); the running ffmpeg gets SIGINT
 *   while media still flows (it flushes its last fragment, read before `exited` resolves), then its
 *   transports close; then the packagers end (last segment written, playlists get #EXT-X-ENDLIST); then the
 *   session is finished (manifest ended, poster, recording ready or removed). Idempotent; never rejects.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import type { types } from 'mediasoup';
import { FfmpegProcess, type FfmpegExit } from '../ffmpeg/FfmpegProcess.js';
import { feedWhenListening, plainConsume, releaseHeld } from '../ffmpeg/plainConsume.js';
import { probeVideo } from '../ingest/VideoProbe.js';
import type { BroadcastMedia, BroadcastOutput } from '../live/BroadcastOutput.js';
import type { Logger } from '../log/logger.js';
import type { RecordingStore } from '../store/sql/RecordingStore.js';
import { ffmpegFmp4Args } from '../llhls/ffmpegFmp4Args.js';
import { rtpInputOptions } from './ffmpegArgs.js';
import { ladderFor, type Rung } from './ladder.js';
import { LiveLadder } from './LiveLadder.js';
import type { PortPool } from './PortPool.js';
import { rtpSdp, type RtpInput } from './rtpSdp.js';
import { hasMedia, sessionStats, writeManifest, type SessionManifest } from './sessionFiles.js';
import { makeThumbnail } from './thumbnail.js';

export interface HlsSettings {
  ladder: number[];
  segmentSeconds: number;
  preset: string;
  fps: number;
  thumbnailEverySeconds: number;
  /** SIGINT → SIGKILL bound; above `inputTimeoutSeconds`, so an ffmpeg whose input stopped still ends cleanly. */
  killAfterMs: number;
  restartDelayMs: number;
  /** ffmpeg ends by itself after this long without RTP (see ffmpegArgs). */
  inputTimeoutSeconds: number;
  /** LL-HLS part duration (ffmpeg's -frag_duration); 0.2 s unless set. */
  partSeconds?: number;
  /** Complete segments in a live playlist (at least 7, the LL-HLS packager's floor). */
  liveWindow?: number;
}

interface Epoch {
  name: string;
  startedAt: number;
  router: types.Router;
  producerIds: string[];
  proc: FfmpegProcess | undefined;
  transports: types.PlainTransport[];
  consumers: types.Consumer[];
  ports: number[];
  timers: NodeJS.Timeout[];
}

export interface HlsBridgeEvents {
  /** An epoch's ffmpeg runs (its pid, once spawned). */
  epoch: [{ name: string; pid: number | undefined }];
  /** ffmpeg exited without being asked. */
  crashed: [{ epoch: string; error: string }];
}

/** How long a run waits for the audio of a video producer that came without it (see #refresh). */
export const AUDIO_WAIT_MS = 750;

/** The bridge was closed while it was starting an epoch: the start gives back what it took. */
class BridgeClosedError extends Error {
  override name = 'BridgeClosedError';
}

export class HlsBridge extends EventEmitter<HlsBridgeEvents> implements BroadcastOutput {
  readonly name = 'hls';
  readonly streamId: string;
  readonly sessionId: string;
  readonly dir: string;
  readonly manifest: SessionManifest;
  /** Resolves once `close()` has finished. */
  readonly done: Promise<void>;
  readonly #settings: HlsSettings;
  readonly #ports: PortPool;
  readonly #recordings: RecordingStore;
  readonly #log: Logger;
  readonly #abort = new AbortController();
  #media: BroadcastMedia | undefined;
  #epoch: Epoch | undefined;
  #queue: Promise<void> = Promise.resolve();
  #opened = false;
  #closing: Promise<void> | undefined;
  #resolveDone!: () => void;
  #restartTimer: NodeJS.Timeout | undefined;
  /** ffmpeg runs in a row that died young: each waits twice as long before the next (a silent input). */
  #crashesInARow = 0;
  /** Epochs being let go after their ffmpeg died: close() waits for them. */
  readonly #endings = new Set<Promise<void>>();
  #thumbTimer: NodeJS.Timeout | undefined;
  #thumbnailing: Promise<void> | undefined;
  /** The session's ladder and packagers: made with the first epoch. */
  #rungs: Rung[] | undefined;
  #ladder: LiveLadder | undefined;
  /** The video producer whose audio was waited for (once per producer). */
  #audioAwaitedFor: string | undefined;
  /** Ends a wait for the next media change. */
  #onUpdate: (() => void) | undefined;

  constructor(opts: {
    dir: string;
    streamId: string;
    sessionId: string;
    settings: HlsSettings;
    ports: PortPool;
    recordings: RecordingStore;
    logger: Logger;
  }) {
    super();
    this.dir = opts.dir;
    this.streamId = opts.streamId;
    this.sessionId = opts.sessionId;
    this.#settings = opts.settings;
    this.#ports = opts.ports;
    this.#recordings = opts.recordings;
    this.#log = opts.logger;
    this.manifest = { streamId: opts.streamId, sessionId: opts.sessionId, epochs: [], renditions: [], segmentSeconds: opts.settings.segmentSeconds, ended: false, format: 'fmp4' };
    this.done = new Promise((resolve) => (this.#resolveDone = resolve));
  }

  /** The pid of the running ffmpeg, if any. */
  get pid(): number | undefined {
    return this.#epoch?.proc?.pid;
  }

  get running(): boolean {
    return !!this.#epoch?.proc?.running;
  }

  /** The session exists (folder and recording row): the broadcast had video. */
  get opened(): boolean {
    return this.#opened;
  }

  get closed(): boolean {
    return this.#abort.signal.aborted;
  }

  /** The LL-HLS packagers (once the first epoch started): what hlsRoutes serves while live. */
  get ladder(): LiveLadder | undefined {
    return this.#ladder;
  }

  update(media: BroadcastMedia): void {
    if (this.closed) return;
    this.#media = media;
    this.#onUpdate?.();
    this.#schedule();
  }

  close(reason: string): Promise<void> {
    this.#closing ??= this.#close(reason);
    return this.#closing;
  }

  async #close(reason: string): Promise<void> {
    this.#abort.abort();
    clearTimeout(this.#restartTimer);
    clearTimeout(this.#thumbTimer);
    try {
      await this.#queue;
      await Promise.all(this.#endings);
      await this.#thumbnailing;
      if (this.#epoch) await this.#endEpoch(this.#epoch, 'stop');
      this.#ladder?.end();
      if (this.#opened) await this.#finishSession(reason);
    } catch (err) {
      this.#log.error({ err }, 'HLS bridge did not close cleanly');
    } finally {
      this.#resolveDone();
    }
  }

  #schedule(): void {
    this.#queue = this.#queue
      .then(() => this.#refresh())
      .catch((err: unknown) => {
        if (err instanceof BridgeClosedError || this.closed) this.#log.debug({ err }, 'epoch start abandoned: the bridge closed');
        else this.#log.error({ err }, 'HLS bridge could not start ffmpeg');
      });
  }

  /** Makes the running epoch match the newest media: keeps it, replaces it, ends it or starts one. */
  async #refresh(): Promise<void> {
    if (this.closed) return;
    const m = this.#media;
    const video = m && !m.router.closed && m.video && !m.video.closed ? m.video : undefined;
    const audio = m && video && m.audio && !m.audio.closed ? m.audio : undefined;
    const wanted = [video, audio].flatMap((p) => (p ? [p.id] : []));
    const e = this.#epoch;
    if (e) {
      const same =
        !!m && e.proc?.running === true && e.router === m.router && e.consumers.every((c) => !c.closed) &&
        e.producerIds.length === wanted.length && e.producerIds.every((id) => wanted.includes(id));
      if (same) return;
      const fed = !e.router.closed && e.consumers.length > 0 && e.consumers.every((c) => !c.closed && !c.producerPaused);
      await this.#endEpoch(e, fed ? 'stop' : 'kill');
    }
    if (m && video && !audio && this.#audioAwaitedFor !== video.id) {
      // A browser publishes its video, then its audio (~100–300 ms later): a run started on the video alone
      // would be replaced at once (measured at go-live: a whole ffmpeg start wasted, ~350 ms). Wait a moment for
      // the audio of a new video producer, once; a change of media ends the wait early.
      this.#audioAwaitedFor = video.id;
      await this.#nextUpdate(AUDIO_WAIT_MS);
      return this.#refresh();
    }
    if (m && video) await this.#startEpoch(m, video, audio);
  }

  /** Resolves at the next `update()`, after `ms`, or when the bridge closes: whichever comes first. */
  #nextUpdate(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#abort.signal.removeEventListener('abort', done);
        if (this.#onUpdate === done) this.#onUpdate = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#abort.signal.addEventListener('abort', done);
      this.#onUpdate = done;
    });
  }

  /**
   * The session's folder, manifest, recording row and thumbnails: made once, with the first epoch. `#opened`
   * is set only once the row exists (a stream deleted meanwhile refuses it, and the epoch does not start); a
   * close that came during the insert finds it set and finishes the session (close awaits the queue first).
   */
  async #open(): Promise<void> {
    if (this.#opened) return;
    fs.mkdirSync(this.dir, { recursive: true });
    writeManifest(this.dir, this.manifest);
    await this.#recordings.start(this.sessionId, this.streamId);
    this.#opened = true;
    this.#scheduleThumbnail(1000);
    this.#log.info('HLS session started');
  }

  async #startEpoch(m: BroadcastMedia, video: types.Producer, audio: types.Producer | undefined): Promise<void> {
    // The ladder is fixed by the first epoch: a producer that carries no size (WHIP) has it read from its
    // first keyframe (server/ingest/VideoProbe.ts) rather than guessed, so a 1080p source gets its 1080 rung.
    // Video that closed meanwhile, or whose keyframes never come (its publisher is being ended), starts no
    // run and no recording: the next media change brings a new refresh.
    const probe = m.videoHeight === undefined && !this.#rungs ? await probeVideo(m.router, video, { signal: this.#abort.signal }) : undefined;
    this.#checkOpen();
    if (video.closed || probe?.outcome === 'gone' || probe?.outcome === 'undecodable') return;
    if (probe?.outcome === 'size') this.#log.info({ size: `${probe.size.width}x${probe.size.height}` }, 'HLS source size read');
    const height = m.videoHeight ?? (probe?.outcome === 'size' ? probe.size.height : undefined);
    // The session's folder and row are made while ffmpeg starts (the row insert took 100–160 ms at go-live):
    // awaited before media flows, so a stream deleted meanwhile still starts no run (the epoch is killed).
    const opening = this.#open();
    opening.catch(() => undefined); // awaited below, or the epoch's end handles it
    const s = this.#settings;
    const name = `e${this.manifest.epochs.length}`;
    const outDir = path.join(this.dir, name);
    fs.mkdirSync(outDir, { recursive: true });
    const epoch: Epoch = { name, startedAt: Date.now(), router: m.router, producerIds: [video.id, ...(audio ? [audio.id] : [])], proc: undefined, transports: [], consumers: [], ports: [], timers: [] };
    try {
      const inputs: RtpInput[] = [];
      const v = await plainConsume(m.router, video, this.#ports, epoch, () => this.#checkOpen());
      inputs.push(v.input);
      if (audio) inputs.push((await plainConsume(m.router, audio, this.#ports, epoch, () => this.#checkOpen())).input);
      const sdpPath = path.join(outDir, 'input.sdp');
      fs.writeFileSync(sdpPath, rtpSdp(inputs));

      const rungs = (this.#rungs ??= ladderFor(s.ladder, height ?? 720));
      const copyTop = v.input.codec.toUpperCase() === 'H264' && height !== undefined && rungs[0]!.height === height;
      const ladder = (this.#ladder ??= new LiveLadder({
        dir: this.dir, rungs, segmentSeconds: s.segmentSeconds, partSeconds: s.partSeconds ?? 0.2, windowSegments: s.liveWindow ?? 7, fps: s.fps,
        logger: this.#log,
        onVariants: (variants) => {
          this.manifest.variants = variants;
          writeManifest(this.dir, this.manifest);
        },
      }));
      const { args, outputs } = ffmpegFmp4Args({
        input: sdpPath, inputOptions: rtpInputOptions(s.inputTimeoutSeconds), rungs, copyTop, hasAudio: !!audio,
        segmentSeconds: s.segmentSeconds, partSeconds: s.partSeconds ?? 0.2, fps: s.fps, preset: s.preset,
      });
      this.manifest.renditions = rungs.map((r) => r.height);
      this.manifest.epochs.push(name);
      writeManifest(this.dir, this.manifest);

      this.#log.info({ epoch: name, copyTop, rungs: rungs.map((r) => r.height), audio: !!audio }, 'HLS epoch starting');
      const proc = FfmpegProcess.spawnPiped({ args, pipes: outputs.length }, { name: `hls ${name}`, stopTimeoutMs: s.killAfterMs, logger: this.#log });
      ladder.attach(proc.outputs, (err) => {
        this.#log.error({ err, epoch: name }, 'ffmpeg wrote no fMP4 we can package: killing the run');
        void proc.kill();
      });
      epoch.proc = proc;
      this.#epoch = epoch;
      void proc.exited.then((exit) => this.#onExit(epoch, exit));

      // Once ffmpeg listens and the session's row exists, media flows. Copying H.264, a keyframe every segment:
      // segments can only cut on them.
      const listening = await feedWhenListening(epoch, v.consumer, {
        signal: this.#abort.signal, checkOpen: () => this.#checkOpen(), ready: opening, ...(copyTop ? { keyframeEveryMs: s.segmentSeconds * 1000 } : {}),
      });
      if (listening !== 'bound') this.#log.info({ epoch: name, listening }, 'resumed before ffmpeg was seen listening (a loaded machine: it may miss the first keyframe, asked for again at 1 s and 2 s)');
      this.emit('epoch', { name, pid: proc.pid });
    } catch (err) {
      await this.#endEpoch(epoch, 'kill');
      await opening.catch(() => undefined);
      throw this.closed ? new BridgeClosedError('closed while starting an epoch', { cause: err }) : err;
    }
  }

  #checkOpen(): void {
    if (this.closed) throw new BridgeClosedError('closed while starting an epoch');
  }

  /**
   * ffmpeg exited. Unasked: free the epoch and start a new one from the newest media, after `restartDelayMs`,
   * doubled for each run in a row that died within 10 s (up to 30 s): an input that stays silent (an encoder
   * that stalled without leaving) ends each ffmpeg after its input timeout.
   */
  #onExit(epoch: Epoch, exit: FfmpegExit): void {
    if (exit.requested || this.#epoch !== epoch) return;
    const error = exit.error ?? `ffmpeg exited (code ${exit.code}, signal ${exit.signal})`;
    const ending = this.#endEpoch(epoch, 'kill');
    this.#endings.add(ending);
    void ending.finally(() => this.#endings.delete(ending));
    if (this.closed) return;
    this.#crashesInARow = Date.now() - epoch.startedAt > 10_000 ? 1 : this.#crashesInARow + 1;
    const delayMs = Math.min(30_000, this.#settings.restartDelayMs * 2 ** (this.#crashesInARow - 1));
    this.#log.warn({ epoch: epoch.name, error, restartInMs: delayMs }, 'ffmpeg died; restarting it');
    this.emit('crashed', { epoch: epoch.name, error });
    clearTimeout(this.#restartTimer);
    this.#restartTimer = setTimeout(() => this.#schedule(), delayMs);
  }

  /**
   * Ends an epoch: 'stop' (SIGINT, SIGKILL after the bound) while its media still flows, 'kill' when its output
   * no longer matters or its input is gone; then closes its transports and gives its ports back (only once
   * ffmpeg, which holds them, is gone). Idempotent.
   */
  async #endEpoch(epoch: Epoch, how: 'stop' | 'kill'): Promise<void> {
    if (this.#epoch === epoch) this.#epoch = undefined;
    for (const t of epoch.timers) clearTimeout(t);
    epoch.timers = [];
    if (epoch.proc) await (how === 'stop' ? epoch.proc.stop() : epoch.proc.kill());
    releaseHeld(epoch, this.#ports);
  }

  /** The end: manifest ended, last thumbnail as poster, recording ready; or, without media, nothing left. */
  async #finishSession(reason: string): Promise<void> {
    this.manifest.ended = true;
    writeManifest(this.dir, this.manifest);
    if (!hasMedia(this.dir, this.manifest)) {
      fs.rmSync(this.dir, { recursive: true, force: true });
      await this.#recordings.delete(this.sessionId);
      this.#log.info({ reason }, 'HLS session ended before its first segment; no recording kept');
      return;
    }
    await this.#thumbnail().catch((err: unknown) => this.#log.warn({ err }, 'could not make the poster'));
    const thumb = path.join(this.dir, 'thumb.jpg');
    if (fs.existsSync(thumb)) fs.copyFileSync(thumb, path.join(this.dir, 'poster.jpg'));
    const final = sessionStats(this.dir, this.manifest);
    await this.#recordings.finish(this.sessionId, { status: 'ready', durationSeconds: final.durationSeconds, renditions: this.manifest.renditions, sizeBytes: final.sizeBytes });
    this.#log.info({ reason, durationSeconds: final.durationSeconds, sizeBytes: final.sizeBytes }, 'HLS session ended; recording ready');
  }

  /** A thumbnail from the newest segment: every second until the first exists, then every thumbnailEverySeconds. */
  #scheduleThumbnail(ms: number): void {
    this.#thumbTimer = setTimeout(() => {
      this.#thumbnailing = this.#thumbnail()
        .then((made) => {
          if (!this.closed) this.#scheduleThumbnail(made ? this.#settings.thumbnailEverySeconds * 1000 : 1000);
        })
        .catch((err: unknown) => {
          this.#log.warn({ err }, 'could not make a thumbnail');
          if (!this.closed) this.#scheduleThumbnail(this.#settings.thumbnailEverySeconds * 1000);
        });
    }, ms);
    this.#thumbTimer.unref();
  }

  /** From the newest full segment of the lowest rendition (its init and segment, read as one file). */
  async #thumbnail(): Promise<boolean> {
    const last = this.#ladder?.lastSegment(this.#ladder.packagers.length - 1);
    if (!last) return false;
    await makeThumbnail(`concat:${last.init}|${last.segment}`, path.join(this.dir, 'thumb.jpg'), this.#log);
    return true;
  }
}
