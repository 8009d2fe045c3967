/**
 * One SRT caller accepted by the listener: its stream id must carry a key that opens a stream
 * (srtStreamId.ts, streamKeys.ts), and the stream must not be live from another publisher (LiveError
 * 'stream_busy'); else the SRT socket is closed at once (the sender sees the connection drop) and the refusal
 * is logged. An accepted caller's first second of MPEG-TS is held and read by ffprobe (tsProbe.ts) to decide
 * what is copied (ingestPlan.ts), then an InputPipe carries it and the rest to the IngestSession's ffmpeg.
 *
 * Lifetimes: the listener owns the SRT socket (it reads it and closes it when this connection closes); this
 * connection owns its lease until the session exists, then the session does. `close` (idempotent) is reached
 * from every path: the caller gone (SRT reports the socket broken: a sender's stop and a network loss look
 * alike, so the broadcast waits for it within the grace), a refusal, the session closing (ffmpeg died, the
 * broadcast ended), shutdown. Held bytes are bounded (MAX_HELD_BYTES): a sender that outruns the probe is
 * dropped.
 */
import type { PublisherLease } from '../../live/Broadcast.js';
import { LiveError } from '../../live/LiveError.js';
import type { Logger } from '../../log/logger.js';
import { InputPipe } from '../InputPipe.js';
import { IngestSession } from '../IngestSession.js';
import { ingestInputOptions, planIngest } from '../ingestPlan.js';
import type { RtmpIngestDeps } from '../rtmp/RtmpConnection.js';
import { streamForKey } from '../streamKeys.js';
import { keyOfStreamId } from './srtStreamId.js';
import { probeTs } from './tsProbe.js';

export type SrtIngestDeps = RtmpIngestDeps;

const PROBE_AFTER_MS = 1000;
const PROBE_AFTER_BYTES = 1024 * 1024;
const MAX_HELD_BYTES = 8 * 1024 * 1024;
const REFUSE_CLOSE_DELAY_MS = 500;
/** A caller whose key checks out but that sends nothing this long is dropped. */
const FIRST_DATA_TIMEOUT_MS = 10_000;

type State = 'authorizing' | 'holding' | 'probing' | 'piping' | 'closed';

export class SrtConnection {
  readonly id: string;
  readonly #deps: SrtIngestDeps;
  #log: Logger;
  readonly #streamIdText: string;
  readonly #abort = new AbortController();
  readonly #onClose: () => void;
  #state: State = 'authorizing';
  #lease: PublisherLease | undefined;
  #resumed = false;
  readonly #held: Buffer[] = [];
  #heldBytes = 0;
  #firstDataAt: number | undefined;
  #pipe: InputPipe | undefined;
  #session: IngestSession | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly closed: Promise<void>;
  #onClosed!: () => void;

  /** `onClose` lets the listener close the SRT socket (called once, first thing in `close`). */
  /** The receive delay in force (ms): the sender's latency, or the listener's floor when larger. */
  readonly latencyMs: number;

  constructor(id: string, peer: string, streamId: string, latencyMs: number, deps: SrtIngestDeps, onClose: () => void) {
    this.id = id;
    this.latencyMs = latencyMs;
    this.#deps = deps;
    this.#streamIdText = streamId;
    this.#onClose = onClose;
    this.#log = deps.logger.child({ srt: id, remote: peer });
    this.closed = new Promise((resolve) => (this.#onClosed = resolve));
    this.#timer = setTimeout(() => void this.close('no data in time'), FIRST_DATA_TIMEOUT_MS);
    this.#timer.unref();
    void this.#authorize();
  }

  get session(): IngestSession | undefined {
    return this.#session;
  }

  #isClosed(): boolean {
    return this.#state === 'closed';
  }

  async #authorize(): Promise<void> {
    const key = keyOfStreamId(this.#streamIdText);
    let streamId: string | undefined;
    try {
      streamId = key ? await streamForKey(key, this.#deps.findStreamByKey) : undefined;
    } catch (err) {
      this.#log.error({ err }, 'stream key look-up failed');
      return void this.close('the server could not check the stream key');
    }
    if (this.#isClosed()) return;
    if (!streamId) {
      this.#log.warn(key ? 'SRT publish refused: wrong stream key' : 'SRT caller refused: no stream key in its stream id (or not a publisher)');
      return void this.close('refused: wrong stream key');
    }
    const log = (this.#log = this.#log.child({ streamId }));
    try {
      const { lease, resumed } = await this.#deps.broadcasts.start(streamId, `srt:${this.id}`, { signal: this.#abort.signal });
      this.#lease = lease;
      this.#resumed = resumed;
    } catch (err) {
      if (err instanceof LiveError) log.warn({ reason: err.reason }, `SRT publish refused: ${err.message}`);
      else log.error({ err }, 'SRT publish failed');
      return void this.close(`refused: ${(err as Error).message}`);
    }
    if (this.#isClosed()) {
      this.#giveBackLease();
      return;
    }
    this.#state = 'holding';
    log.info({ resumed: this.#resumed, latencyMs: this.latencyMs }, 'SRT publish accepted');
    this.#maybeProbe();
  }

  /** Payload read from the SRT socket (the listener calls this from its poll). */
  onData(data: Buffer): void {
    if (this.#isClosed()) return;
    if (this.#state === 'piping') {
      if (!this.#pipe!.write(data)) void this.close('ffmpeg fell too far behind the input');
      return;
    }
    this.#firstDataAt ??= Date.now();
    this.#held.push(data);
    this.#heldBytes += data.length;
    if (this.#heldBytes > MAX_HELD_BYTES) {
      void this.close('too much data before the ingest started');
      return;
    }
    this.#maybeProbe();
  }

  #maybeProbe(): void {
    if (this.#state !== 'holding' || this.#firstDataAt === undefined) return;
    if (this.#heldBytes < PROBE_AFTER_BYTES && Date.now() - this.#firstDataAt < PROBE_AFTER_MS) return;
    this.#state = 'probing';
    clearTimeout(this.#timer);
    void this.#startSession();
  }

  /** Called by the listener's poll (the clock moves on even when no packet comes). */
  tick(): void {
    this.#maybeProbe();
  }

  async #startSession(): Promise<void> {
    let plan;
    let pipe: InputPipe;
    try {
      const facts = await probeTs(Buffer.concat(this.#held));
      plan = planIngest(facts);
      this.#log.info({ facts, video: plan.video, audio: plan.audio }, 'SRT input known; starting ffmpeg');
      pipe = this.#pipe = await InputPipe.open();
    } catch (err) {
      this.#log.warn({ err }, 'SRT input could not be read');
      return void this.close(`the input could not be read: ${(err as Error).message}`);
    }
    if (this.#isClosed()) return void pipe.close();
    for (const b of this.#held) pipe.write(b);
    this.#held.length = 0;
    this.#heldBytes = 0;
    this.#state = 'piping';
    try {
      this.#session = await IngestSession.start({
        protocol: 'srt',
        id: this.id,
        lease: this.#lease!,
        resumed: this.#resumed,
        plan,
        input: { url: pipe.url, options: ingestInputOptions('mpegts'), pipe },
        logger: this.#log,
        stopTimeoutMs: this.#deps.stopTimeoutMs,
      });
    } catch (err) {
      this.#lease = undefined;
      this.#log.warn({ err }, 'SRT ingest could not start');
      return void this.close(`the ingest could not start: ${(err as Error).message}`);
    }
    if (this.#isClosed()) return void this.#session.close('the SRT caller disconnected');
    this.#session.once('closed', ({ reason }) => void this.close(reason));
  }

  #giveBackLease(): void {
    const lease = this.#lease;
    this.#lease = undefined;
    if (!lease?.held) return;
    if (this.#resumed) lease.release();
    else void lease.broadcast.end('the SRT publisher left before its media started');
  }

  /** Closes the SRT socket and what this connection made; idempotent. Resolves when ffmpeg is gone. */
  async close(reason: string): Promise<void> {
    if (this.#isClosed()) return this.closed;
    const wasLive = this.#state !== 'authorizing';
    this.#state = 'closed';
    clearTimeout(this.#timer);
    this.#abort.abort();
    this.#held.length = 0;
    // A caller refused at once may not have finished its side of the handshake yet, and would then miss the
    // shutdown and send into the void: close its socket a moment later (its data is ignored meanwhile).
    if (wasLive) this.#onClose();
    else setTimeout(this.#onClose, REFUSE_CLOSE_DELAY_MS).unref();
    if (wasLive) this.#log.info({ reason }, 'SRT publisher connection closed');
    else this.#log.debug({ reason }, 'SRT connection closed');
    if (this.#session) await this.#session.close(reason);
    else {
      this.#giveBackLease();
      await this.#pipe?.close();
    }
    this.#onClosed();
  }
}
