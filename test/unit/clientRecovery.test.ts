/**
 * The browser code's handling of refusals: the server's reason decides, then its code, never its message.
 * The decisions (player/recovery.ts, studio/recovery.ts) are tested as functions; how the reason reaches
 * them (SignalingClient acks and handshake refusals) and what the studio's Broadcaster does with it are
 * tested over a real socket.io server on 127.0.0.1 that answers as OnAir's server does, one scripted answer
 * per case (the real server's handlers are tested in test/integration). The Broadcaster runs in Node up to
 * its mediasoup-client Device, which Node does not have: a start that gets that far fails with 'media'.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Server, type Socket } from 'socket.io';
import type { ErrorReason } from '../../shared/errors.js';
import { ApiError } from '../../client/common/api.js';
import { OnAirClientError } from '../../client/common/errors.js';
import { mostUrgent, viewerRecovery } from '../../client/player/recovery.js';
import { handshakeRefusal } from '../../client/signaling/handshakeRefusal.js';
import { SignalingClient } from '../../client/signaling/SignalingClient.js';
import { SignalingRequestError } from '../../client/signaling/SignalingRequestError.js';
import { Broadcaster } from '../../client/studio/Broadcaster.js';
import { NO_MEDIA } from '../../client/studio/OutgoingMedia.js';
import { publishFailure, publishRecovery } from '../../client/studio/recovery.js';

const refused = (request: 'consume' | 'transport:create' | 'broadcast:start', code: OnAirClientError['code'], reason?: ErrorReason) =>
  new SignalingRequestError(request, code, 'words nobody parses', reason);

describe('viewerRecovery (the player)', () => {
  it('acts on the reason first', () => {
    expect(viewerRecovery(refused('consume', 'conflict', 'stale_session'))).toBe('renew');
    expect(viewerRecovery(refused('consume', 'conflict', 'not_live'))).toBe('wait');
    expect(viewerRecovery(refused('consume', 'conflict', 'broadcast_ended'))).toBe('wait');
    expect(viewerRecovery(refused('transport:create', 'too_many_requests', 'viewers_full'))).toBe('hls');
    expect(viewerRecovery(refused('consume', 'conflict', 'connection_closed'))).toBe('reconnect');
    // The same code with another reason means another thing: rate limited is not "full".
    expect(viewerRecovery(refused('transport:create', 'too_many_requests', 'rate_limited'))).toBe('retry');
  });

  it('falls back on the code without a reason (servers before reasons, and what only the client sees)', () => {
    expect(viewerRecovery(refused('consume', 'conflict'))).toBe('stale');
    expect(viewerRecovery(refused('consume', 'not_found'))).toBe('stale');
    expect(viewerRecovery(refused('transport:create', 'too_many_requests'))).toBe('hls');
    expect(viewerRecovery(refused('consume', 'too_many_requests'))).toBe('retry');
    expect(viewerRecovery(refused('consume', 'disconnected'))).toBe('reconnect');
    expect(viewerRecovery(refused('consume', 'timeout'))).toBe('retry');
    expect(viewerRecovery(new Error('not ours'))).toBe('retry');
  });

  it('acts on the most urgent of several consume failures', () => {
    const stale = refused('consume', 'conflict');
    const renew = refused('consume', 'conflict', 'stale_session');
    const gone = refused('consume', 'conflict', 'not_live');
    expect(mostUrgent([])).toBeUndefined();
    expect(mostUrgent([stale, renew])).toEqual({ recovery: 'renew', error: renew });
    expect(mostUrgent([renew, gone, stale])).toEqual({ recovery: 'wait', error: gone });
  });
});

describe('publishRecovery (the studio)', () => {
  it('acts on the reason first', () => {
    expect(publishRecovery(refused('broadcast:start', 'conflict', 'stream_busy'))).toBe('fatal');
    expect(publishRecovery(refused('broadcast:start', 'conflict', 'not_publisher'))).toBe('restart');
    expect(publishRecovery(refused('broadcast:start', 'conflict', 'broadcast_ended'))).toBe('restart');
    expect(publishRecovery(refused('broadcast:start', 'conflict', 'connection_closed'))).toBe('reconnect');
    expect(publishRecovery(refused('broadcast:start', 'too_many_requests', 'rate_limited'))).toBe('retry');
  });

  it('falls back on the code without a reason', () => {
    for (const code of ['conflict', 'unauthorized', 'forbidden', 'not_found', 'bad_request', 'media'] as const) {
      expect(publishRecovery(refused('broadcast:start', code))).toBe('fatal');
    }
    expect(publishRecovery(refused('broadcast:start', 'disconnected'))).toBe('reconnect');
    expect(publishRecovery(refused('broadcast:start', 'timeout'))).toBe('retry');
    expect(publishRecovery(refused('broadcast:start', 'internal'))).toBe('retry');
  });

  it('tells the user in plain words that the stream is live elsewhere', () => {
    const err = publishFailure(refused('broadcast:start', 'conflict', 'stream_busy'));
    expect(err.message).toBe('this stream is live from another window or encoder');
    expect(err).toMatchObject({ code: 'conflict', reason: 'stream_busy' });
    const other = refused('broadcast:start', 'forbidden');
    expect(publishFailure(other)).toBe(other);
  });
});

describe('handshakeRefusal', () => {
  const withData = (data: unknown) => Object.assign(new Error('refused'), { data });

  it('reads the code and reason from the error data', () => {
    const r = handshakeRefusal(withData({ error: 'too_many_requests', reason: 'too_many_connections', message: 'at most 200' }));
    expect(r).toBeInstanceOf(OnAirClientError);
    expect(r).toMatchObject({ code: 'too_many_requests', reason: 'too_many_connections', message: 'at most 200' });
    expect(handshakeRefusal(withData({ error: 'unauthorized', message: 'jwt expired' }))).toMatchObject({ code: 'unauthorized', reason: undefined });
  });

  it('drops an unknown reason and ignores data that is not a refusal', () => {
    expect(handshakeRefusal(withData({ error: 'forbidden', reason: 'from_the_future', message: 'm' }))).toMatchObject({ code: 'forbidden', reason: undefined });
    expect(handshakeRefusal(withData({ error: 'no_such_code', message: 'm' }))).toBeUndefined();
    expect(handshakeRefusal(new Error('websocket error'))).toBeUndefined();
  });

  it('still reads the "code: message" of servers before error data', () => {
    expect(handshakeRefusal(new Error('unauthorized: jwt expired'))).toMatchObject({ code: 'unauthorized', message: 'jwt expired' });
  });
});

describe('ApiError', () => {
  it('carries the body reason when the client knows it', () => {
    expect(new ApiError(409, { error: 'conflict', reason: 'stream_busy', message: 'busy' }, 'x')).toMatchObject({ code: 'conflict', reason: 'stream_busy', message: 'busy' });
    expect(new ApiError(409, { error: 'conflict', reason: 'nope' as ErrorReason, message: 'busy' }, 'x').reason).toBeUndefined();
    expect(new ApiError(0, {}, 'offline')).toMatchObject({ code: 'network', reason: undefined, message: 'offline' });
  });
});

/**
 * A socket.io server on 127.0.0.1 that answers each request with what `answer` returns for it, and records
 * every request. `refuse`: the handshake middleware's error data, to refuse every connection with.
 */
interface Scripted {
  url: string;
  requests: { name: string; payload: unknown }[];
  answer: (name: string, payload: unknown, socket: Socket) => unknown | Promise<unknown>;
  refuse: { error: string; reason?: string; message: string } | undefined;
}

let http: HttpServer;
let ioServer: Server;
const scripted: Scripted = { url: '', requests: [], answer: () => ({ ok: true, data: {} }), refuse: undefined };
const clients: SignalingClient[] = [];

beforeAll(async () => {
  http = createServer();
  ioServer = new Server(http);
  ioServer.use((_socket, next) => {
    if (!scripted.refuse) return next();
    next(Object.assign(new Error(scripted.refuse.message), { data: scripted.refuse }));
  });
  ioServer.on('connection', (socket) => {
    socket.onAny((name: string, payload: unknown, ack: unknown) => {
      scripted.requests.push({ name, payload });
      if (typeof ack === 'function') void Promise.resolve(scripted.answer(name, payload, socket)).then((res) => ack(res));
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  scripted.url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  scripted.requests = [];
  scripted.answer = () => ({ ok: true, data: {} });
  scripted.refuse = undefined;
});

afterAll(async () => {
  await ioServer.close();
});

function connect(): SignalingClient {
  const client = new SignalingClient({ url: scripted.url, ackTimeoutMs: 5000 });
  clients.push(client);
  return client;
}

describe('SignalingClient', () => {
  it('carries the code and reason of a refused request', async () => {
    scripted.answer = () => ({ ok: false, error: 'conflict', reason: 'stale_session', message: 'create a new transport' });
    const client = connect();
    await client.whenConnected();
    const err = await client.request('consume', { producerId: 'p', rtpCapabilities: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SignalingRequestError);
    expect(err).toMatchObject({ request: 'consume', code: 'conflict', reason: 'stale_session', message: 'create a new transport' });
  });

  it('keeps the code of an answer whose reason it does not know, and makes an unknown code a generic failure', async () => {
    const client = connect();
    await client.whenConnected();
    scripted.answer = () => ({ ok: false, error: 'conflict', reason: 'from_the_future', message: 'm' });
    await expect(client.request('consume', { producerId: 'p', rtpCapabilities: {} })).rejects.toMatchObject({ code: 'conflict', reason: undefined });
    scripted.answer = () => ({ ok: false, error: 'teapot', message: 'm' });
    await expect(client.request('consume', { producerId: 'p', rtpCapabilities: {} })).rejects.toMatchObject({ code: 'internal', reason: undefined });
  });

  it('rejects whenConnected with the handshake refusal the server sent as error data', async () => {
    scripted.refuse = { error: 'too_many_requests', reason: 'too_many_connections', message: 'too many connections from your address' };
    const err = await connect().whenConnected().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OnAirClientError);
    expect(err).toMatchObject({ code: 'too_many_requests', reason: 'too_many_connections', message: 'too many connections from your address' });
    scripted.refuse = { error: 'unauthorized', message: 'jwt expired' };
    await expect(connect().whenConnected()).rejects.toMatchObject({ code: 'unauthorized', reason: undefined });
  });
});

describe('Broadcaster', () => {
  const starts = () => scripted.requests.filter((r) => r.name === 'broadcast:start');
  const stops = () => scripted.requests.filter((r) => r.name === 'broadcast:stop');
  const startOk = { ok: true, data: { stream: {}, routerRtpCapabilities: {}, resumed: false, resumeKey: 'key-1' } };
  const refusal = (reason?: ErrorReason, error = 'conflict') => ({ ok: false, error, message: 'words nobody parses', ...(reason ? { reason } : {}) });

  function broadcaster(): Broadcaster {
    return new Broadcaster({ signaling: connect() });
  }

  it('starts again when the previous broadcast is still ending (broadcast_ended), without its resume key', async () => {
    let n = 0;
    scripted.answer = (name) => (name !== 'broadcast:start' ? { ok: true, data: {} } : ++n <= 2 ? refusal('broadcast_ended') : startOk);
    const b = broadcaster();
    // Past broadcast:start, the start reaches the Device, which Node does not have.
    await expect(b.start('s1', NO_MEDIA)).rejects.toMatchObject({ code: 'media' });
    expect(starts()).toHaveLength(3);
    expect(starts().map((r) => (r.payload as { resumeKey?: string }).resumeKey)).toEqual([undefined, undefined, undefined]);
    // The failed start gives back the stream the third attempt got.
    await expect.poll(() => stops().length).toBe(1);
    expect(b.state).toBe('idle');
  });

  it('gives up after a bounded number of restarts', async () => {
    scripted.answer = () => refusal('not_publisher');
    await expect(broadcaster().start('s1', NO_MEDIA)).rejects.toMatchObject({ code: 'conflict', reason: 'not_publisher' });
    expect(starts()).toHaveLength(4);
  });

  it('stops at once, with a clear message, when the stream is live from elsewhere (stream_busy)', async () => {
    scripted.answer = () => refusal('stream_busy');
    const b = broadcaster();
    const err = await b.start('s1', NO_MEDIA).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'conflict', reason: 'stream_busy', message: 'this stream is live from another window or encoder' });
    expect(starts()).toHaveLength(1);
    expect(b.state).toBe('idle');
  });

  it('treats a conflict without a reason as fatal (servers before reasons)', async () => {
    scripted.answer = () => refusal(undefined);
    await expect(broadcaster().start('s1', NO_MEDIA)).rejects.toMatchObject({ code: 'conflict', reason: undefined });
    expect(starts()).toHaveLength(1);
  });

  it("ignores the previous broadcast's broadcast:ended that arrives while its start is unanswered", async () => {
    scripted.answer = (name, _payload, socket) => {
      if (name !== 'broadcast:start') return { ok: true, data: {} };
      socket.emit('broadcast:ended', { streamId: 's1', reason: 'the broadcaster ended the stream' });
      return startOk;
    };
    const b = broadcaster();
    const ended: string[] = [];
    b.on('ended', ({ streamId }) => ended.push(streamId));
    // Without the guard, the old end would finish the new start, which would then resolve without going live.
    await expect(b.start('s1', NO_MEDIA)).rejects.toMatchObject({ code: 'media' });
    expect(ended).toEqual([]);
  });

  it('gives the stream back when stop() ran while the start was on its way', async () => {
    let answerStart: (() => void) | undefined;
    scripted.answer = (name) => {
      if (name === 'broadcast:start') return new Promise((resolve) => (answerStart = () => resolve(startOk)));
      return name === 'broadcast:stop' && !answerStart ? { ok: true, data: {} } : refusal('not_publisher');
    };
    const b = broadcaster();
    const ended: string[] = [];
    b.on('ended', ({ streamId }) => ended.push(streamId));
    const starting = b.start('s1', NO_MEDIA);
    await expect.poll(() => starts().length).toBe(1);
    await b.stop(); // the server does not count us as the publisher yet: not_publisher, nothing to stop
    expect(ended).toEqual(['s1']);
    expect(b.state).toBe('ended');
    answerStart!();
    await starting;
    await expect.poll(() => stops().length).toBe(2);
  });
});
