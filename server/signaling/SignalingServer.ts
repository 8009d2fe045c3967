/**
 * socket.io signaling. Every request is validated with its schema from shared/signaling.ts, rate-limited per
 * socket, and answered by an ack `{ ok, data }` or `{ ok: false, error, message }`; a handler that throws
 * never crashes the server. Broadcast events (producers, reconnecting, ended, viewer counts) fan out to the
 * room of the stream; viewer counts at most twice a second per stream. One client address may hold at most
 * `maxSocketsPerAddress` sockets at once.
 *
 * Cluster mode (`cluster` given: RedisShared) adds the socket.io Redis adapter, and one rule for who emits
 * what, so that each socket hears each event once:
 * - events about the media a viewer consumes (`broadcast:producers`, `broadcast:reconnecting`,
 *   `broadcast:ended`, `transport:closed`) come from the node whose broadcast or relay the viewer consumes
 *   from, to this node's sockets only (`io.local`);
 * - `viewers:count` goes to this node's sockets only as well: every node hears every total (in the order
 *   Redis computed them, RedisAudienceCounts) and pushes it to its own sockets;
 * - events about the stream (`stream:updated`, chat, `restream:state`) go through the adapter, emitted once
 *   by the node where the change happened.
 * The sockets per address are then counted across the nodes as well (RedisConnectionLimit); while Redis is
 * unreachable a new socket is admitted under this node's own limit, so that viewers whose node died can
 * reconnect to another one and play on.
 */
import type http from 'node:http';
import { Server, type ServerOptions, type Socket } from 'socket.io';
import type { ZodError } from 'zod';
import type { Ack, ClientEvents, RequestName, RequestResults, ServerEvents } from '../../shared/signaling.js';
import type { ErrorBody, ErrorCode, ErrorReason } from '../../shared/errors.js';
import { handshakeAuthSchema, requestSchemas } from '../../shared/signalingSchemas.js';
import { LiveError } from '../live/LiveError.js';
import { TokenError, type AccessClaims } from '../auth/tokens.js';
import { clientAddress } from '../http/clientAddress.js';
import type { Services } from '../http/Services.js';
import type { Broadcasts } from '../live/Broadcasts.js';
import { ApiError } from '../http/ApiError.js';
import type { SharedConcurrencyLimit } from '../limits/RateLimit.js';
import type { Logger } from '../log/logger.js';
import type { WorkerPool } from '../media/WorkerPool.js';
import { broadcasterHandlers } from './broadcasterHandlers.js';
import { Peer } from './Peer.js';
import { Coalescer } from '../limits/Coalescer.js';
import { KeyedConcurrencyLimit } from '../limits/KeyedConcurrencyLimit.js';
import { TokenBucket } from '../limits/TokenBucket.js';
import { SignalingError } from './SignalingError.js';
import { viewerHandlers } from './viewerHandlers.js';
import { chatHandlers } from '../chat/chatHandlers.js';
import type { ChatService } from '../chat/ChatService.js';
import { streamInfo } from './streamInfo.js';

export interface SocketData {
  user: AccessClaims | undefined;
  peer: Peer;
}

/** Events between the nodes' signaling servers (cluster mode, over the adapter; validated on receipt). */
export interface NodeEvents {
  'restream:state': (e: unknown) => void;
}

export type OnAirSocket = Socket<ClientEvents, ServerEvents, NodeEvents, SocketData>;
export type OnAirIo = Server<ClientEvents, ServerEvents, NodeEvents, SocketData>;

export interface SignalingDeps {
  services: Services;
  broadcasts: Broadcasts;
  pool: WorkerPool;
  logger: Logger;
  /** The live chat (server/chat): its requests are handled here like every other. */
  chat: ChatService;
  /** Cluster mode only (RedisShared): the socket.io adapter and the sockets per address of every node. */
  cluster?: { adapter: NonNullable<ServerOptions['adapter']>; sockets: SharedConcurrencyLimit };
}

/** What each handler gets. */
export interface HandlerContext extends SignalingDeps {
  socket: OnAirSocket;
  peer: Peer;
  io: OnAirIo;
  log: Logger;
}

export type Handlers = {
  [E in RequestName]?: (payload: ReturnType<(typeof requestSchemas)[E]['parse']>, ctx: HandlerContext) => Promise<RequestResults[E]> | RequestResults[E];
};

export const streamRoom = (streamId: string) => `stream:${streamId}`;

const EVENT_RATE = 20;
const EVENT_BURST = 60;
/** A stream's viewer count goes to its room at most this often (the latest count, at the end of a burst). */
const VIEWER_COUNT_INTERVAL_MS = 500;
/** At shutdown, how long sockets may take to send what they still hold. */
const FLUSH_TIMEOUT_MS = 1000;

export class SignalingServer {
  readonly io: OnAirIo;
  /** Open sockets per client address (the address express's req.ip gives, see clientAddress). */
  readonly socketsPerAddress: KeyedConcurrencyLimit;
  readonly #deps: SignalingDeps;
  readonly #handlers: Handlers;
  readonly #viewerCounts = new Coalescer<number>(VIEWER_COUNT_INTERVAL_MS, (streamId, count) =>
    this.io.local.to(streamRoom(streamId)).emit('viewers:count', { streamId, count }),
  );

  constructor(server: http.Server, deps: SignalingDeps) {
    this.#deps = deps;
    this.#handlers = { ...viewerHandlers, ...broadcasterHandlers, ...chatHandlers(deps.chat) };
    this.socketsPerAddress = new KeyedConcurrencyLimit(deps.services.config.maxSocketsPerAddress);
    this.io = new Server(server, {
      serveClient: false,
      maxHttpBufferSize: 256 * 1024,
      // A dropped broadcaster is noticed within ~10 s.
      pingInterval: 5000,
      pingTimeout: 5000,
      cors: { origin: false },
      ...(deps.cluster ? { adapter: deps.cluster.adapter } : {}),
    });
    this.io.use((socket, next) => {
      const auth = handshakeAuthSchema.safeParse(socket.handshake.auth ?? {});
      if (!auth.success) return next(refusal('bad_request', 'handshake auth must be { token?: string }'));
      let user: AccessClaims | undefined;
      if (auth.data.token) {
        try {
          user = deps.services.tokens.verifyAccess(auth.data.token);
        } catch (err) {
          return next(refusal('unauthorized', err instanceof TokenError ? err.message : 'bad token'));
        }
      }
      socket.data.user = user;
      socket.data.peer = new Peer(socket.id);
      next();
    });
    // Last, so that a place is taken only by a socket that is about to connect.
    this.io.use((socket, next) => this.#admitPerAddress(socket, next));
    this.io.on('connection', (socket) => this.#onConnection(socket));
    this.#fanOut();
  }

  async close(): Promise<void> {
    this.#viewerCounts.close();
    // socket.io's close discards what a socket has not handed to its transport yet, such as the
    // `broadcast:ended` sent a moment ago by the shutdown: close each socket on its own first, which sends
    // its buffer before closing (bounded, for a client that does not read).
    const flushed = [...this.io.of('/').sockets.values()].map(
      (socket) =>
        new Promise<void>((resolve) => {
          socket.conn.once('close', () => resolve());
          socket.disconnect(true);
        }),
    );
    await Promise.race([Promise.all(flushed), new Promise((resolve) => setTimeout(resolve, FLUSH_TIMEOUT_MS).unref())]);
    await new Promise<void>((resolve) => this.io.close(() => resolve()));
  }

  /**
   * Takes one of the address's places, or refuses the socket (socket.io-client gets `connect_error` with the
   * message and does not retry by itself). The place is given back once: when the socket disconnects, or
   * when its connection closes before the socket got connected (socket.io then never says `disconnect`).
   */
  #admitPerAddress(socket: OnAirSocket, next: (err?: Error) => void): void {
    const address = clientAddress(socket.request, this.#deps.services.trustProxy);
    if (!this.socketsPerAddress.acquire(address)) {
      this.#deps.logger.debug({ component: 'signaling', address }, 'socket refused: too many from its address');
      return next(refusal('too_many_requests', `too many connections from your address (at most ${this.socketsPerAddress.max})`, 'too_many_connections'));
    }
    const shared = this.#deps.cluster?.sockets;
    let held = true;
    let sharedHeld = false;
    const release = () => {
      if (!held) return;
      held = false;
      this.socketsPerAddress.release(address);
      if (sharedHeld) shared?.release(address);
      socket.conn.off('close', release);
    };
    socket.once('disconnect', release);
    socket.conn.once('close', release);
    if (!shared) return next();
    // Cluster mode: a place among every node's sockets of the address as well.
    shared.acquire(address).then(
      (ok) => {
        if (!ok) {
          release();
          return next(refusal('too_many_requests', `too many connections from your address (at most ${shared.max})`, 'too_many_connections'));
        }
        // The connection closed while Redis answered: nobody will release this place but us.
        if (!held) return shared.release(address);
        sharedHeld = true;
        next();
      },
      (err: unknown) => {
        // Redis unreachable: admitted under this node's own limit (taken above). A viewer whose node died
        // reconnects to another one and must play on through a Redis outage.
        this.#deps.logger.warn({ component: 'signaling', address, err: (err as Error).message }, 'socket admitted on this node\'s limit only (shared state unreachable)');
        if (held) next();
      },
    );
  }

  #onConnection(socket: OnAirSocket): void {
    const { peer } = socket.data;
    const log = this.#deps.logger.child({ component: 'signaling', socket: socket.id, user: socket.data.user?.sub });
    const ctx: HandlerContext = { ...this.#deps, socket, peer, io: this.io, log };
    const bucket = new TokenBucket(EVENT_RATE, EVENT_BURST);
    log.debug('socket connected');

    socket.onAny((event: unknown, ...args: unknown[]) => {
      const ack = args.at(-1);
      const reply = typeof ack === 'function' ? (ack as (res: Ack<unknown>) => void) : () => undefined;
      const fail = (code: ErrorCode, message: string, reason?: ErrorReason) => {
        this.#deps.services.metrics.signalingErrors.inc({ event: typeof event === 'string' && event in requestSchemas ? event : 'unknown' });
        reply({ ok: false, error: code, message, ...(reason ? { reason } : {}) });
      };
      if (!bucket.take()) return fail('too_many_requests', 'too many signaling requests: slow down', 'rate_limited');
      if (typeof event !== 'string' || !Object.hasOwn(requestSchemas, event)) {
        return fail('not_found', `unknown event ${JSON.stringify(String(event)).slice(0, 80)}`);
      }
      const name = event as RequestName;
      const handler = this.#handlers[name] as ((p: unknown, c: HandlerContext) => unknown) | undefined;
      let parsed;
      try {
        parsed = requestSchemas[name].safeParse(args.length > 1 || typeof ack !== 'function' ? args[0] : undefined);
      } catch (err) {
        // A throw here would escape into socket.io's packet handling and take the process down.
        log.warn({ err, event: name }, 'signaling payload could not be validated');
        return fail('bad_request', `invalid ${name} payload`);
      }
      if (!parsed.success) return fail('validation_failed', describeZod(name, parsed.error));
      if (!handler) return fail('not_found', `no handler for ${name}`);
      Promise.resolve()
        .then(() => {
          // A request read in the same chunk as the socket's goodbye gets here after the disconnect handler:
          // the peer has let go of everything by then, and what the handler would take (a place in the
          // audience) nobody would give back.
          peer.assertOpen(name);
          return handler(parsed.data, ctx);
        })
        .then(
          (data) => reply({ ok: true, data: data ?? {} }),
          (err: unknown) => {
            if (err instanceof SignalingError) return fail(err.code, err.message);
            // RedisUnavailable (cluster mode, Redis unreachable): 503 cluster_unavailable.
            if (err instanceof ApiError && err.reason) return fail(err.code, err.message, err.reason);
            if (err instanceof LiveError) {
              if (err.reason === 'connection_closed') log.debug({ event: name }, err.message);
              return fail(err.code, err.message, err.reason);
            }
            log.error({ err, event: name }, 'signaling handler failed');
            fail('internal', `${name} failed: ${err instanceof Error ? err.message : 'internal error'}`);
          },
        );
    });

    socket.on('disconnect', (reason) => {
      log.debug({ reason }, 'socket disconnected');
      if (peer.watching) this.#deps.broadcasts.removeViewer(peer.watching, peer.id);
      // Closes its transports, releases its publisher lease, and aborts its requests still running.
      peer.close();
    });
  }

  /**
   * Broadcast events → the stream's room: media events to this node's sockets (`io.local`: the viewers
   * consuming from this node's broadcast or relay), stream events through the adapter (see the header).
   */
  #fanOut(): void {
    const { broadcasts, services } = this.#deps;
    broadcasts.on('producers', (e) => this.io.local.to(streamRoom(e.streamId)).emit('broadcast:producers', e));
    broadcasts.on('reconnecting', (e) => this.io.local.to(streamRoom(e.streamId)).emit('broadcast:reconnecting', e));
    broadcasts.on('ended', (e) => this.io.local.to(streamRoom(e.streamId)).emit('broadcast:ended', e));
    // The end of a relay (cluster mode: the origin's broadcast ended) reaches the viewers of this node's relay.
    broadcasts.on('relayended', (e) => this.io.local.to(streamRoom(e.streamId)).emit('broadcast:ended', e));
    // The stream's metadata or status changed (live, ended): its pages show it without fetching again.
    // The record is read once the status write of the event is done (Broadcasts.statusSettled), so it shows
    // the new status; a failed read is logged (an event handler never rejects).
    const statusChanged = ({ streamId }: { streamId: string }) => {
      broadcasts
        .statusSettled(streamId)
        .then(() => services.streams.byId(streamId))
        .then((stream) => {
          if (stream) this.io.to(streamRoom(streamId)).emit('stream:updated', { stream: streamInfo(stream) });
        })
        .catch((err: unknown) => this.#deps.logger.error({ err, streamId }, 'could not tell the viewers of the stream\'s new status'));
    };
    broadcasts.on('started', statusChanged);
    broadcasts.on('ended', statusChanged);
    // A peer's id is its socket's id, and every socket is in the room of its own id.
    broadcasts.on('receiverslost', ({ receivers }) => {
      for (const r of receivers) this.io.local.to(r.peerId).emit('transport:closed', { transportId: r.transportId });
    });
    broadcasts.on('viewers', (e) => this.#viewerCounts.push(e.streamId, e.count));
    broadcasts.on('updated', statusChanged);
  }
}

/**
 * A handshake refusal: socket.io-client gets `connect_error` with this message and, in `err.data`, the
 * machine-readable `{ error, reason?, message }` (clients act on that, never on the message).
 */
function refusal(code: ErrorCode, message: string, reason?: ErrorReason): Error {
  const err = new Error(`${code}: ${message}`) as Error & { data: ErrorBody };
  err.data = { error: code, message, ...(reason ? { reason } : {}) };
  return err;
}

function describeZod(event: string, err: ZodError): string {
  const i = err.issues[0];
  return `invalid ${event} payload${i ? `: ${i.path.join('.') || '(root)'}: ${i.message}` : ''}`;
}
