/**
 * One RTMP or SRT publisher on its broadcast: an ordinary broadcast publisher ("rtmp:<id>", "srt:<id>") whose
 * media an ffmpeg turns into RTP (ingestPlan.ts says what it copies and what it transcodes) sent into two
 * PlainTransports of the broadcast's router, whose producers the broadcast takes like a browser's.
 *
 * Lifetimes ("whoever creates it closes it"): the session owns the publisher lease, the PlainTransports
 * (their producers close with them), the ffmpeg process and the input pipe. Every path ends in `#finish`,
 * which runs once: the lease goes back first (the broadcast waits for the publisher within its grace, as for
 * WHIP), then the transports close, then ffmpeg is stopped (SIGINT, SIGKILL after `stopTimeoutMs`) and
 * awaited. The paths:
 * - the publisher disconnects (`close`): the broadcast waits for it (reconnecting);
 * - the publisher hangs up (`hangUp`: RTMP deleteStream): the broadcast ends first, while its outputs can
 *   still finish, then the session closes;
 * - ffmpeg exits by itself (input ended or failed): as a disconnect, with ffmpeg's reason logged;
 * - the router closes (the broadcast ended, its worker died): the session closes; a publisher that comes back
 *   resumes onto the new router;
 * - `start` failing half-way: what it made is closed and the broadcast start is undone (a new broadcast ends,
 *   a resumed one waits again).
 * The owner (the RTMP connection, the SRT listener) hears `closed` and drops its publisher's connection.
 */
import crypto from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import { FfmpegProcess } from '../ffmpeg/FfmpegProcess.js';
import type { PublisherLease } from '../live/Broadcast.js';
import { LiveError } from '../live/LiveError.js';
import type { Logger } from '../log/logger.js';
import {
  AUDIO_PAYLOAD_TYPE,
  VIDEO_PAYLOAD_TYPE,
  audioRtpParameters,
  ingestOutputArgs,
  videoRtpParameters,
  type IngestPlan,
  type RtpTarget,
} from './ingestPlan.js';

export type IngestProtocol = 'rtmp' | 'srt';

export interface IngestSessionSpec {
  protocol: IngestProtocol;
  /** Connection id; the publisher is "<protocol>:<id>". */
  id: string;
  lease: PublisherLease;
  /** The broadcast was resumed (not created) by this publisher. */
  resumed: boolean;
  plan: IngestPlan;
  /** ffmpeg's input and the options before it; `pipe`, if any, is closed with the session. */
  input: { url: string; options: readonly string[]; pipe?: { close(): Promise<void> } };
  logger: Logger;
  /** How long ffmpeg gets after SIGINT before SIGKILL. */
  stopTimeoutMs: number;
}

export interface IngestSessionEvents {
  closed: [{ reason: string }];
}

/** A random SSRC in 1..2^31 (never 0). */
const randomSsrc = () => 1 + crypto.randomInt(0x7fffffff);

export class IngestSession extends EventEmitter<IngestSessionEvents> {
  readonly protocol: IngestProtocol;
  readonly id: string;
  readonly lease: PublisherLease;
  readonly plan: IngestPlan;
  readonly #transports: types.PlainTransport[];
  readonly #ffmpeg: FfmpegProcess;
  readonly #log: Logger;
  readonly #pipe: { close(): Promise<void> } | undefined;
  #finished: Promise<void> | undefined;

  private constructor(spec: IngestSessionSpec, transports: types.PlainTransport[], ffmpeg: FfmpegProcess) {
    super();
    this.protocol = spec.protocol;
    this.id = spec.id;
    this.lease = spec.lease;
    this.plan = spec.plan;
    this.#transports = transports;
    this.#ffmpeg = ffmpeg;
    this.#log = spec.logger;
    this.#pipe = spec.input.pipe;
  }

  get publisherId(): string {
    return `${this.protocol}:${this.id}`;
  }

  get streamId(): string {
    return this.lease.broadcast.streamId;
  }

  /** ffmpeg's pid while it runs (tests count what is left). */
  get ffmpegPid(): number | undefined {
    return this.#ffmpeg.pid;
  }

  get closed(): boolean {
    return this.#finished !== undefined;
  }

  /** Makes the transports and producers, starts ffmpeg and hands the producers to the broadcast. */
  static async start(spec: IngestSessionSpec): Promise<IngestSession> {
    const { lease, plan } = spec;
    const broadcast = lease.broadcast;
    const router = broadcast.router;
    const transports: types.PlainTransport[] = [];
    const producers: types.Producer[] = [];
    let ffmpeg: FfmpegProcess | undefined;
    try {
      // ffmpeg sends RTP and RTCP from different local ports: no rtcp-mux, or comedia would lock onto whichever
      // arrives first and drop the other.
      const plain = async () => {
        const t = await router.createPlainTransport({ listenIp: { ip: '127.0.0.1' }, rtcpMux: false, comedia: true, appData: { ingest: spec.id } });
        transports.push(t);
        return t;
      };
      const targets: { video?: RtpTarget; audio?: RtpTarget } = {};
      if (plan.video) {
        const t = await plain();
        const ssrc = randomSsrc();
        targets.video = { port: t.tuple.localPort, rtcpPort: t.rtcpTuple!.localPort, payloadType: VIDEO_PAYLOAD_TYPE, ssrc };
        producers.push(
          await t.produce({
            kind: 'video',
            rtpParameters: videoRtpParameters(plan.video, ssrc) as types.RtpParameters,
            appData: { source: spec.protocol, ingest: spec.id, ...(plan.video.height ? { height: plan.video.height } : {}) },
          }),
        );
      }
      if (plan.audio) {
        const t = await plain();
        const ssrc = randomSsrc();
        targets.audio = { port: t.tuple.localPort, rtcpPort: t.rtcpTuple!.localPort, payloadType: AUDIO_PAYLOAD_TYPE, ssrc };
        producers.push(await t.produce({ kind: 'audio', rtpParameters: audioRtpParameters(ssrc) as types.RtpParameters, appData: { source: spec.protocol, ingest: spec.id } }));
      }
      const out = ingestOutputArgs(plan, targets);
      ffmpeg = FfmpegProcess.spawn(
        { input: spec.input.url, inputOptions: ['-hide_banner', '-nostats', ...spec.input.options], outputOptions: out.outputOptions, output: out.output },
        { name: `${spec.protocol} ${spec.id}`, stopTimeoutMs: spec.stopTimeoutMs, logger: spec.logger },
      );
      if (!lease.held || transports.some((t) => t.closed)) {
        broadcast.assertLive('ingest');
        throw new LiveError('not_publisher', 'another publisher took this stream while this one was starting');
      }
      // The producers are the broadcast's from here (it closes them when the lease goes back).
      for (const p of producers) broadcast.addProducer(lease, p, spec.protocol);
    } catch (err) {
      for (const t of transports) t.close();
      await ffmpeg?.kill();
      if (lease.held) {
        if (spec.resumed) lease.release();
        else void broadcast.end(`the ${spec.protocol.toUpperCase()} publisher could not start`);
      }
      throw err;
    }
    const session = new IngestSession(spec, transports, ffmpeg);
    session.#watch();
    return session;
  }

  /** The publisher went away: the broadcast waits for it. Resolves when ffmpeg is gone. */
  close(reason: string): Promise<void> {
    return this.#finish(reason);
  }

  /** The publisher ended the stream: the broadcast ends (its outputs finish), then the session closes. */
  async hangUp(reason: string): Promise<void> {
    if (this.#finished) return this.#finished;
    if (this.lease.held) await this.lease.broadcast.end(reason);
    return this.#finish(reason);
  }

  #watch(): void {
    void this.#ffmpeg.exited.then((exit) => {
      if (this.#finished) return;
      this.#log.warn({ code: exit.code, signal: exit.signal, error: exit.error }, 'ingest ffmpeg exited; the publisher is gone');
      void this.#finish(exit.error ? `ffmpeg failed: ${exit.error}` : 'the input ended');
    });
    for (const t of this.#transports) {
      t.observer.once('close', () => void this.#finish('the broadcast ended or its media worker died'));
    }
  }

  #finish(reason: string): Promise<void> {
    if (this.#finished) return this.#finished;
    let done!: () => void;
    this.#finished = new Promise((resolve) => (done = resolve));
    this.lease.release();
    for (const t of this.#transports) t.close();
    // ffmpeg reads the end of its input, then SIGINT (SIGKILL after the bound) if it is still there.
    void (async () => {
      await this.#pipe?.close().catch(() => undefined);
      const exit = await this.#ffmpeg.stop();
      this.#log.info({ reason, ffmpegCode: exit.code, ffmpegSignal: exit.signal }, 'ingest session closed');
      done();
    })();
    this.emit('closed', { reason });
    return this.#finished;
  }
}
