/**
 * The HLS bridge of one live session: consumes the broadcast's top video layer and its audio through
 * mediasoup PlainTransports into ffmpeg (fluent-ffmpeg over Debian's ffmpeg), which writes the ladder.
 *
 * - Each ffmpeg run is an epoch with its own folder. An ffmpeg that dies, or whose producers went away (the
 *   broadcaster republished), is replaced by a new epoch: the playlist goes on after a discontinuity.
 * - Stopping: SIGINT while media still flows (ffmpeg only reads signals between packets), then the
 *   PlainTransports are closed; SIGKILL after `killAfterMs`.
 * - Ports for ffmpeg come from a PortPool and go back to it.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import ffmpeg from 'fluent-ffmpeg';
import type { types } from 'mediasoup';
import type { Logger } from '../log/logger.js';
import { ffmpegArgs, type FfmpegPlan } from './ffmpegArgs.js';
import { ladderFor } from './ladder.js';
import type { PortPool } from './PortPool.js';
import { rtpSdp, type RtpInput } from './rtpSdp.js';
import { writeManifest, type SessionManifest } from './sessionFiles.js';
import { makeThumbnail, newestSegment } from './thumbnail.js';

export interface HlsSettings {
  ladder: number[];
  segmentSeconds: number;
  preset: string;
  fps: number;
  thumbnailEverySeconds: number;
  killAfterMs: number;
  restartDelayMs: number;
}

export interface BridgeSource {
  router: types.Router;
  video: types.Producer | undefined;
  audio: types.Producer | undefined;
  /** Capture height the broadcaster announced, if any. */
  videoHeight: number | undefined;
}

interface Epoch {
  name: string;
  command: ffmpeg.FfmpegCommand;
  transports: types.PlainTransport[];
  consumers: types.Consumer[];
  ports: number[];
  timers: NodeJS.Timeout[];
  exited: Promise<void>;
  done: boolean;
}

export interface HlsBridgeEvents {
  /** An epoch started (its ffmpeg pid). */
  epoch: [{ name: string; pid: number | undefined }];
  /** ffmpeg exited without being asked. */
  crashed: [{ epoch: string; error: string }];
}

export class HlsBridge extends EventEmitter<HlsBridgeEvents> {
  readonly dir: string;
  readonly manifest: SessionManifest;
  readonly #settings: HlsSettings;
  readonly #ports: PortPool;
  readonly #log: Logger;
  readonly #source: () => BridgeSource | undefined;
  #epoch: Epoch | undefined;
  #stopping = false;
  #restartTimer: NodeJS.Timeout | undefined;
  #starting: Promise<void> | undefined;
  #thumbTimer: NodeJS.Timeout | undefined;
  #thumbnailing: Promise<void> | undefined;

  constructor(opts: {
    dir: string;
    streamId: string;
    sessionId: string;
    settings: HlsSettings;
    ports: PortPool;
    logger: Logger;
    /** The broadcast's current producers (they change when the broadcaster republishes). */
    source: () => BridgeSource | undefined;
  }) {
    super();
    this.dir = opts.dir;
    this.#settings = opts.settings;
    this.#ports = opts.ports;
    this.#log = opts.logger;
    this.#source = opts.source;
    fs.mkdirSync(this.dir, { recursive: true });
    this.#scheduleThumbnail(1000);
    this.manifest = { streamId: opts.streamId, sessionId: opts.sessionId, epochs: [], renditions: [], segmentSeconds: opts.settings.segmentSeconds, ended: false };
    writeManifest(this.dir, this.manifest);
  }

  /** The pid of the running ffmpeg, if any. */
  get pid(): number | undefined {
    return this.#epoch && !this.#epoch.done ? ((this.#epoch.command as unknown as { ffmpegProc?: { pid?: number } }).ffmpegProc?.pid) : undefined;
  }

  get running(): boolean {
    return !!this.#epoch && !this.#epoch.done;
  }

  /** (Re)starts ffmpeg when the producers it reads are gone or changed; starts the first epoch. */
  refresh(): Promise<void> {
    if (this.#stopping) return Promise.resolve();
    this.#starting = (this.#starting ?? Promise.resolve()).then(() => this.#refresh()).catch((err: unknown) => {
      this.#log.error({ err }, 'HLS bridge could not start ffmpeg');
    });
    return this.#starting;
  }

  async #refresh(): Promise<void> {
    if (this.#stopping) return;
    const src = this.#source();
    const e = this.#epoch;
    const current = !!e && !e.done && e.consumers.every((c) => !c.closed && !c.producerPaused);
    // Exactly the broadcast's producers: the studio produces video, then audio, so the first epoch often
    // starts with video alone and must be restarted with the audio (or the whole recording is silent).
    const wanted = [src?.video, src?.audio].flatMap((p) => (p && !p.closed ? [p.id] : []));
    const sameProducers =
      !!e && !!src?.video && wanted.length === e.consumers.length && e.consumers.every((c) => wanted.includes(c.producerId));
    if (current && sameProducers) return;
    if (e && !e.done) await this.#endEpoch(e, 'SIGKILL');
    if (src?.video && !src.video.closed && !src.router.closed) await this.#startEpoch(src);
  }

  /** Stops ffmpeg cleanly and marks the session ended. */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    clearTimeout(this.#restartTimer);
    clearTimeout(this.#thumbTimer);
    await this.#starting;
    await this.#thumbnailing;
    if (this.#epoch && !this.#epoch.done) await this.#endEpoch(this.#epoch, 'SIGINT');
    this.manifest.ended = true;
    writeManifest(this.dir, this.manifest);
    await this.#thumbnail().catch(() => undefined);
    const thumb = path.join(this.dir, 'thumb.jpg');
    if (fs.existsSync(thumb)) fs.copyFileSync(thumb, path.join(this.dir, 'poster.jpg'));
  }

  /** A thumbnail from the newest segment: every second until the first exists, then every thumbnailEverySeconds. */
  #scheduleThumbnail(ms: number): void {
    this.#thumbTimer = setTimeout(() => {
      this.#thumbnailing = this.#thumbnail()
        .then((made) => {
          if (!this.#stopping) this.#scheduleThumbnail(made ? this.#settings.thumbnailEverySeconds * 1000 : 1000);
        })
        .catch((err: unknown) => {
          this.#log.warn({ err }, 'could not make a thumbnail');
          if (!this.#stopping) this.#scheduleThumbnail(this.#settings.thumbnailEverySeconds * 1000);
        });
    }, ms);
    this.#thumbTimer.unref();
  }

  async #thumbnail(): Promise<boolean> {
    const epoch = this.manifest.epochs.at(-1);
    const segment = epoch && newestSegment(path.join(this.dir, epoch), this.manifest.renditions.length);
    if (!segment) return false;
    await makeThumbnail(segment, path.join(this.dir, 'thumb.jpg'));
    return true;
  }

  async #startEpoch(src: BridgeSource): Promise<void> {
    const s = this.#settings;
    const name = `e${this.manifest.epochs.length}`;
    const outDir = path.join(this.dir, name);
    fs.mkdirSync(outDir, { recursive: true });
    const epoch: Epoch = { name, command: undefined as unknown as ffmpeg.FfmpegCommand, transports: [], consumers: [], ports: [], timers: [], exited: Promise.resolve(), done: false };
    try {
      const inputs: RtpInput[] = [];
      const video = await this.#plainConsume(src.router, src.video!, epoch);
      inputs.push(video.input);
      const audio = src.audio && !src.audio.closed ? await this.#plainConsume(src.router, src.audio, epoch) : undefined;
      if (audio) inputs.push(audio.input);
      const sdpPath = path.join(outDir, 'input.sdp');
      fs.writeFileSync(sdpPath, rtpSdp(inputs));

      const rungs = ladderFor(s.ladder, src.videoHeight ?? 720);
      const copyTop = video.input.codec.toUpperCase() === 'H264' && src.videoHeight !== undefined && rungs[0]!.height === src.videoHeight;
      const plan: FfmpegPlan = { sdpPath, outDir, rungs, copyTop, hasAudio: !!audio, segmentSeconds: s.segmentSeconds, fps: s.fps, preset: s.preset };
      const args = ffmpegArgs(plan);
      this.manifest.renditions = rungs.map((r) => r.height);
      this.manifest.epochs.push(name);
      writeManifest(this.dir, this.manifest);

      const command = ffmpeg()
        .input(sdpPath)
        .inputOptions(...args.input)
        .outputOptions(...args.output)
        .output(args.target);
      epoch.command = command;
      epoch.exited = new Promise<void>((resolve) => {
        const finish = (error?: string) => {
          const expected = epoch.done;
          epoch.done = true;
          resolve();
          if (!expected) this.#onCrash(epoch, error ?? 'ffmpeg exited');
        };
        command.on('error', (err: Error, _out: string | null, stderr: string | null) => finish(`${err.message}${stderr ? `: ${stderr.split('\n').slice(-4).join(' | ')}` : ''}`));
        command.on('end', () => finish());
      });
      command.on('start', (line: string) => this.#log.info({ epoch: name, copyTop, rungs: plan.rungs.map((r) => r.height), command: line }, 'ffmpeg started'));
      command.run();
      this.#epoch = epoch;
      this.emit('epoch', { name, pid: this.pid });

      // Let ffmpeg bind its ports, then let media flow and ask for keyframes.
      await delay(300);
      for (const c of epoch.consumers) await c.resume();
      const videoConsumer = video.consumer;
      const keyframe = () => void videoConsumer.requestKeyFrame().catch(() => undefined);
      keyframe();
      epoch.timers.push(setTimeout(keyframe, 1000), setTimeout(keyframe, 2000));
      // Copying H.264: WebRTC encoders send keyframes only on request, and segments can only cut on them.
      if (copyTop) epoch.timers.push(setInterval(keyframe, s.segmentSeconds * 1000));
    } catch (err) {
      epoch.done = true;
      this.#cleanup(epoch);
      throw err;
    }
  }

  async #plainConsume(router: types.Router, producer: types.Producer, epoch: Epoch): Promise<{ consumer: types.Consumer; input: RtpInput }> {
    const port = await this.#ports.take();
    epoch.ports.push(port);
    const transport = await router.createPlainTransport({ listenIp: { ip: '127.0.0.1' }, rtcpMux: false, comedia: false });
    epoch.transports.push(transport);
    await transport.connect({ ip: '127.0.0.1', port, rtcpPort: port + 1 });
    const codec = producer.rtpParameters.codecs[0]!;
    const cap = router.rtpCapabilities.codecs!.find(
      (c) => c.mimeType.toLowerCase() === codec.mimeType.toLowerCase() && (codec.mimeType.toLowerCase() !== 'video/h264' || c.parameters?.['profile-level-id'] === codec.parameters?.['profile-level-id']),
    ) ?? router.rtpCapabilities.codecs!.find((c) => c.mimeType.toLowerCase() === codec.mimeType.toLowerCase());
    if (!cap) throw new Error(`the router has no ${codec.mimeType}`);
    // Only the producer's codec, without RTX, so ffmpeg's SDP stays trivial.
    const rtpCapabilities: types.RtpCapabilities = {
      codecs: [{ ...cap, rtcpFeedback: producer.kind === 'video' ? [{ type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }] : [] }],
      headerExtensions: [],
    };
    const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities, paused: true });
    epoch.consumers.push(consumer);
    if (consumer.type === 'simulcast') await consumer.setPreferredLayers({ spatialLayer: 3, temporalLayer: 2 });
    // The broadcaster went away or republished: this epoch is over.
    consumer.on('producerclose', () => void this.refresh());
    const c = consumer.rtpParameters.codecs[0]!;
    return {
      consumer,
      input: {
        kind: producer.kind,
        port,
        payloadType: c.payloadType,
        codec: c.mimeType.split('/')[1]!,
        clockRate: c.clockRate,
        channels: c.channels,
        parameters: c.parameters as Record<string, unknown> | undefined,
      },
    };
  }

  #onCrash(epoch: Epoch, error: string): void {
    this.#cleanup(epoch);
    if (this.#stopping) return;
    this.#log.warn({ epoch: epoch.name, error }, 'ffmpeg died; restarting it');
    this.emit('crashed', { epoch: epoch.name, error });
    clearTimeout(this.#restartTimer);
    this.#restartTimer = setTimeout(() => void this.refresh(), this.#settings.restartDelayMs);
  }

  async #endEpoch(epoch: Epoch, signal: 'SIGINT' | 'SIGKILL'): Promise<void> {
    if (!epoch.done) {
      epoch.done = true;
      try {
        epoch.command.kill(signal);
      } catch {
        /* already gone */
      }
      const kill = setTimeout(() => {
        this.#log.warn({ epoch: epoch.name }, `ffmpeg did not stop within ${this.#settings.killAfterMs} ms: SIGKILL`);
        try {
          epoch.command.kill('SIGKILL');
        } catch {
          /* already gone */
        }
      }, this.#settings.killAfterMs);
      await epoch.exited;
      clearTimeout(kill);
    }
    this.#cleanup(epoch);
  }

  #cleanup(epoch: Epoch): void {
    for (const t of epoch.timers) clearTimeout(t);
    epoch.timers = [];
    for (const t of epoch.transports) t.close();
    epoch.transports = [];
    for (const p of epoch.ports) this.#ports.give(p);
    epoch.ports = [];
    if (this.#epoch === epoch) this.#epoch = undefined;
  }
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
