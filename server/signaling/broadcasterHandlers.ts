/**
 * Broadcaster requests: start/stop broadcasting into one's own stream, send and remove tracks.
 *
 * `broadcast:start` with `sendTransport: true` also makes the send transport (what `transport:create` would
 * make next) while it joins the room and re-reads the stream, and answers with both: "Go live" → the first
 * `produce` is one round trip shorter. The transport is the Peer's like any other (closed with it, and with
 * the broadcast's router); a start that fails after making it leaves it to the Peer's next `closeDirection`.
 */
import type { types } from 'mediasoup';
import { canManage } from '../auth/access.js';
import { LiveError } from '../live/LiveError.js';
import { createTransport, withClientParams } from './mediaHandlers.js';
import type { HandlerContext, Handlers } from './SignalingServer.js';
import { streamRoom } from './SignalingServer.js';
import { SignalingError } from './SignalingError.js';
import { streamInfo } from './streamInfo.js';

const MAX_PRODUCERS_PER_PEER = 4;

/** The lease this socket holds on a broadcast, or LiveError('not_publisher'). */
function ownLease(ctx: HandlerContext) {
  const lease = ctx.peer.lease;
  if (!lease) throw new LiveError('not_publisher', 'you are not broadcasting a stream now: start one first (broadcast:start)');
  return lease;
}

export const broadcasterHandlers: Handlers = {
  'broadcast:start': async ({ streamId, resumeKey, sendTransport }, ctx) => {
    const { socket, peer, services, broadcasts, pool } = ctx;
    const user = socket.data.user;
    if (!user) throw new SignalingError('unauthorized', 'sign in to broadcast: connect with an access token');
    const stream = await services.streams.byId(streamId);
    if (!stream) throw new SignalingError('not_found', `no stream ${streamId}`);
    if (!canManage(user, stream)) throw new SignalingError('forbidden', 'you may only broadcast into your own streams');
    peer.assertOpen('broadcast:start');
    peer.closeDirection('send');
    const { broadcast, lease, resumed } = await broadcasts.start(streamId, peer.id, { resumeKey, signal: peer.signal });
    // Releases (closed peer) or keeps the lease; a lease on another broadcast is released.
    peer.holdLease(lease);
    // Made beside the room join and the stream's re-read, not after them (it needs only the lease).
    const transport = sendTransport ? createTransport(broadcast, peer, { direction: 'send' }) : undefined;
    transport?.catch(() => undefined); // awaited below, after the other steps
    await socket.join(streamRoom(streamId));
    // The stream as it is now (live), read before the last check: nothing is taken after it.
    const now = (await services.streams.byId(streamId)) ?? stream;
    const transportInfo = await transport;
    peer.assertOpen('broadcast:start');
    ctx.log.info({ streamId, resumed }, 'broadcasting');
    return {
      stream: streamInfo(now),
      routerRtpCapabilities: pool.rtpCapabilities as unknown as Record<string, unknown>,
      resumed,
      resumeKey: broadcast.resumeKey,
      broadcastId: broadcast.id,
      ...(transportInfo ? { sendTransport: transportInfo } : {}),
    };
  },

  'broadcast:stop': async (_p, ctx) => {
    const lease = ctx.peer.lease;
    if (!lease) throw new SignalingError('bad_request', 'you are not broadcasting a stream now: there is nothing to stop');
    ctx.peer.dropLease();
    // Answered once the end is over (outputs finished, status ended): a start right after it succeeds anyway.
    await lease.broadcast.end('the broadcaster ended the stream');
    return {};
  },

  produce: async ({ transportId, kind, rtpParameters, source, height }, ctx) => {
    const { peer } = ctx;
    const lease = ownLease(ctx);
    const transport = peer.transport(transportId, 'send');
    if (!transport) throw new SignalingError('not_found', `no send transport ${transportId} on this connection`);
    if (peer.producers.size >= MAX_PRODUCERS_PER_PEER) throw new SignalingError('too_many_requests', 'too many tracks on this connection');
    const producer = await withClientParams('produce', () =>
      transport.produce({ kind, rtpParameters: rtpParameters as unknown as types.RtpParameters, appData: { source, ...(height ? { height } : {}) } }),
    );
    peer.addProducer(producer);
    lease.broadcast.addProducer(lease, producer, source);
    return { id: producer.id };
  },

  'producer:close': ({ producerId }, ctx) => {
    const producer = ctx.peer.producers.get(producerId);
    if (!producer) throw new SignalingError('not_found', `no producer ${producerId} on this connection`);
    producer.close();
    return {};
  },
};
