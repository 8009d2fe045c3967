/**
 * One RTMP client connection. node-media-server's RTMP engine (handshake, chunk stream, AMF commands) reads
 * the bytes; this class decides: only publishing to `live/<stream key>` is offered (playback is refused), the
 * key must open a stream (streamKeys.ts), and the stream must not be live from another publisher
 * (LiveError 'stream_busy'). An accepted publisher becomes an IngestSession.
 *
 * The answer to `publish` is held back until the key and the broadcast are settled, so a refused encoder gets
 * `NetStream.Publish.BadName` with the reason (OBS, ffmpeg show it), never a `Publish.Start`, and sends no
 * media. Then: the first packets are held by an FlvProbe until the input is known, an InputPipe carries them
 * and the rest to the session's ffmpeg.
 *
 * Guards, because the engine trusts its input (each stops the connection, never the server):
 * - anything it throws, or an error it returns, drops the connection;
 * - before a publish is accepted, at most PRE_PUBLISH_BYTES are read, fed in small slices; after each slice
 *   the memory its chunk streams hold is checked (a chunk header may announce 16 MB, and the engine allocates
 *   it at once), and later the same check runs on every 4 kB;
 * - no accepted publish within PUBLISH_TIMEOUT_MS, or no byte for IDLE_TIMEOUT_MS: dropped.
 *
 * Lifetimes: the connection owns its lease until the session exists, then the session owns it; `close`
 * (idempotent) is reached from every path: the socket closing, a refusal, the session closing (ffmpeg died,
 * the broadcast ended), server shutdown. `deleteStream` (OBS's Stop Streaming, ffmpeg's end) is a hang-up:
 * the broadcast ends instead of waiting for the publisher.
 */
import type net from 'node:net';
import type AVPacket from 'node-media-server/src/core/avpacket.js';
import Flv from 'node-media-server/src/protocol/flv.js';
import Rtmp from 'node-media-server/src/protocol/rtmp.js';
import type { PublisherLease } from '../../live/Broadcast.js';
import type { Broadcasts } from '../../live/Broadcasts.js';
import { LiveError } from '../../live/LiveError.js';
import type { Logger } from '../../log/logger.js';
import { InputPipe } from '../InputPipe.js';
import { IngestSession } from '../IngestSession.js';
import { ingestInputOptions, planIngest } from '../ingestPlan.js';
import { streamForKey, type FindStreamByKey } from '../streamKeys.js';
import { FlvProbe } from './FlvProbe.js';

export const RTMP_LIMITS = {
  prePublishBytes: 64 * 1024,
  publishTimeoutMs: 10_000,
  idleTimeoutMs: 20_000,
  /** Memory the engine's chunk streams may hold: one allocation, and all together. */
  maxChunkBytes: 8 * 1024 * 1024,
  maxChunkStreamsBytes: 24 * 1024 * 1024,
  maxChunkStreams: 16,
  /** ffmpeg this far behind its input: the publisher is dropped. */
  maxPipeBacklogBytes: 16 * 1024 * 1024,
};

export interface RtmpIngestDeps {
  broadcasts: Broadcasts;
  findStreamByKey: FindStreamByKey;
  logger: Logger;
  /** ffmpeg's SIGINT → SIGKILL bound. */
  stopTimeoutMs: number;
}

type State = 'connecting' | 'authorizing' | 'probing' | 'piping' | 'closed';

export class RtmpConnection {
  readonly id: string;
  readonly #socket: net.Socket;
  readonly #deps: RtmpIngestDeps;
  #log: Logger;
  readonly #rtmp = new Rtmp();
  readonly #abort = new AbortController();
  #state: State = 'connecting';
  #app = '';
  #name = '';
  #received = 0;
  #lease: PublisherLease | undefined;
  #resumed = false;
  #probe = new FlvProbe();
  #pipe: InputPipe | undefined;
  #session: IngestSession | undefined;
  #publishTimer: NodeJS.Timeout;
  /** Settles when the connection and everything it made are gone. */
  readonly closed: Promise<void>;
  #onClosed!: () => void;

  constructor(id: string, socket: net.Socket, deps: RtmpIngestDeps) {
    this.id = id;
    this.#socket = socket;
    this.#deps = deps;
    this.#log = deps.logger.child({ rtmp: id, remote: `${socket.remoteAddress}:${socket.remotePort}` });
    this.closed = new Promise((resolve) => (this.#onClosed = resolve));
    const rtmp = this.#rtmp;
    rtmp.onOutputCallback = (buffer) => {
      if (!socket.destroyed) socket.write(buffer);
    };
    rtmp.onConnectCallback = (req) => {
      this.#app = String(req.app);
      this.#name = String(req.name);
    };
    rtmp.onPlayCallback = () => this.#refuse('NetStream.Play.Failed', 'OnAir takes RTMP publishers only: watch on the stream page');
    rtmp.onPushCallback = () => void this.#authorize();
    rtmp.onPacketCallback = (packet) => this.#onPacket(packet);
    // Held back until the key and the broadcast are settled (see the header).
    rtmp.respondPublish = () => undefined;
    rtmp.onDeleteStream = () => void this.#hangUp();
    socket.setNoDelay(true);
    socket.setTimeout(RTMP_LIMITS.idleTimeoutMs, () => void this.close('no data for too long'));
    socket.on('data', (data) => this.#onData(data));
    socket.on('error', (err) => this.#log.debug({ err }, 'RTMP socket error'));
    socket.once('close', () => void this.close('the RTMP publisher disconnected'));
    this.#publishTimer = setTimeout(() => void this.close('no publish in time'), RTMP_LIMITS.publishTimeoutMs);
    this.#publishTimer.unref();
  }

  /** A method, so that checks after an await or a callback are not narrowed away by TypeScript. */
  #isClosed(): boolean {
    return this.#state === 'closed';
  }

  get session(): IngestSession | undefined {
    return this.#session;
  }

  #onData(data: Buffer): void {
    if (this.#state === 'closed') return;
    this.#received += data.length;
    const accepted = this.#state === 'probing' || this.#state === 'piping';
    if (!accepted && this.#received > RTMP_LIMITS.prePublishBytes) {
      this.#log.warn({ bytes: this.#received }, 'RTMP client sent too much before publishing');
      void this.close('too much data before publishing');
      return;
    }
    const step = accepted ? 4096 : 64;
    for (let i = 0; i < data.length && !this.#isClosed(); i += step) {
      let err: string | null;
      try {
        err = this.#rtmp.parserData(data.subarray(i, i + step));
      } catch (e) {
        err = (e as Error).message;
      }
      if (err === null) err = this.#chunkMemoryProblem();
      if (err !== null) {
        this.#log.warn({ err }, 'malformed RTMP input; dropping the connection');
        void this.close(`malformed RTMP input: ${err}`);
        return;
      }
    }
  }

  /** The engine's reassembly buffers over the bounds, as a reason; null when within them. */
  #chunkMemoryProblem(): string | null {
    const streams = this.#rtmp.inPackets;
    if (streams.size > RTMP_LIMITS.maxChunkStreams) return `${streams.size} chunk streams`;
    let total = 0;
    for (const p of streams.values()) {
      if (p.capacity > RTMP_LIMITS.maxChunkBytes) return `a ${p.capacity}-byte message`;
      total += p.capacity;
    }
    return total > RTMP_LIMITS.maxChunkStreamsBytes ? `${total} bytes in chunk streams` : null;
  }

  async #authorize(): Promise<void> {
    if (this.#state !== 'connecting') return this.#refuse('NetStream.Publish.BadName', 'one publish per connection');
    this.#state = 'authorizing';
    if (this.#app !== 'live') return this.#refuse('NetStream.Publish.BadName', 'publish to rtmp://HOST:PORT/live/STREAM_KEY');
    let streamId: string | undefined;
    try {
      streamId = await streamForKey(this.#name, this.#deps.findStreamByKey);
    } catch (err) {
      this.#log.error({ err }, 'stream key look-up failed');
      return this.#refuse('NetStream.Publish.Denied', 'the server could not check the stream key');
    }
    if (this.#state !== 'authorizing') return;
    if (!streamId) {
      this.#log.warn('RTMP publish refused: wrong stream key');
      return this.#refuse('NetStream.Publish.BadName', 'wrong stream key');
    }
    const log = (this.#log = this.#log.child({ streamId }));
    try {
      const { lease, resumed } = await this.#deps.broadcasts.start(streamId, `rtmp:${this.id}`, { signal: this.#abort.signal });
      this.#lease = lease;
      this.#resumed = resumed;
    } catch (err) {
      if (err instanceof LiveError) {
        log.warn({ reason: err.reason }, `RTMP publish refused: ${err.message}`);
        return this.#refuse('NetStream.Publish.BadName', err.reason === 'stream_busy' ? 'this stream is live from another publisher' : err.message);
      }
      log.error({ err }, 'RTMP publish failed');
      return this.#refuse('NetStream.Publish.Denied', 'the server could not start the broadcast');
    }
    if (this.#state !== 'authorizing') {
      this.#giveBackLease();
      return;
    }
    clearTimeout(this.#publishTimer);
    this.#state = 'probing';
    Rtmp.prototype.respondPublish.call(this.#rtmp);
    log.info({ resumed: this.#resumed }, 'RTMP publish accepted');
  }

  #onPacket(packet: AVPacket): void {
    if (this.#state === 'piping') {
      if (!this.#pipe!.write(Flv.createMessage(packet))) void this.close('ffmpeg fell too far behind the input');
      return;
    }
    if (this.#state !== 'probing') return;
    if (this.#probe.add(packet) && !this.#pipe) void this.#startSession();
  }

  async #startSession(): Promise<void> {
    const plan = planIngest(this.#probe.facts);
    let pipe: InputPipe;
    try {
      pipe = this.#pipe = await InputPipe.open(RTMP_LIMITS.maxPipeBacklogBytes);
    } catch (err) {
      this.#log.error({ err }, 'could not open the ingest pipe');
      void this.close('the server could not start the ingest');
      return;
    }
    if (this.#state !== 'probing') {
      await pipe.close();
      return;
    }
    pipe.write(this.#probe.take());
    this.#state = 'piping';
    this.#log.info({ facts: this.#probe.facts, video: plan.video, audio: plan.audio }, 'RTMP input known; starting ffmpeg');
    try {
      this.#session = await IngestSession.start({
        protocol: 'rtmp',
        id: this.id,
        lease: this.#lease!,
        resumed: this.#resumed,
        plan,
        input: { url: pipe.url, options: ingestInputOptions('flv'), pipe },
        logger: this.#log,
        stopTimeoutMs: this.#deps.stopTimeoutMs,
      });
    } catch (err) {
      // The session undid the start (lease given back); the pipe is ours still.
      this.#lease = undefined;
      this.#log.warn({ err }, 'RTMP ingest could not start');
      void this.close(`the ingest could not start: ${(err as Error).message}`);
      return;
    }
    if (this.#isClosed()) {
      void this.#session.close('the RTMP publisher disconnected');
      return;
    }
    this.#session.once('closed', ({ reason }) => void this.close(reason));
  }

  async #hangUp(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#log.info('RTMP publisher ended the stream');
    if (this.#session) await this.#session.hangUp('the broadcaster ended the stream');
    else if (this.#lease?.held) await this.#lease.broadcast.end('the broadcaster ended the stream');
    await this.close('the broadcaster ended the stream');
  }

  #refuse(code: string, description: string): void {
    if (this.#state === 'closed') return;
    try {
      this.#rtmp.sendStatusMessage(this.#rtmp.streamId ?? 0, 'error', code, description);
    } catch {
      /* the refusal is best effort; the connection closes anyway */
    }
    void this.close(`refused: ${description}`);
  }

  /** A publish that had its lease but no session: a new broadcast ends, a resumed one waits again. */
  #giveBackLease(): void {
    const lease = this.#lease;
    this.#lease = undefined;
    if (!lease?.held) return;
    if (this.#resumed) lease.release();
    else void lease.broadcast.end('the RTMP publisher left before its media started');
  }

  /** Drops the connection and closes what it made; idempotent. Resolves when ffmpeg is gone. */
  async close(reason: string): Promise<void> {
    if (this.#state === 'closed') return this.closed;
    const wasLive = this.#state === 'probing' || this.#state === 'piping';
    this.#state = 'closed';
    clearTimeout(this.#publishTimer);
    this.#abort.abort();
    this.#socket.end();
    // Flush a refusal's status message, but never wait on a client that does not read.
    setTimeout(() => this.#socket.destroy(), 200).unref();
    if (wasLive) this.#log.info({ reason }, 'RTMP publisher connection closed');
    else this.#log.debug({ reason }, 'RTMP connection closed');
    const session = this.#session;
    if (session) await session.close(reason);
    else {
      this.#giveBackLease();
      await this.#pipe?.close();
    }
    this.#onClosed();
  }
}
