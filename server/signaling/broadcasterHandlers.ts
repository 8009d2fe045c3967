/** Broadcaster requests: start/stop broadcasting into one's own stream, send and remove tracks. */
import type { types } from 'mediasoup';
import { canManage } from '../auth/access.js';
import { BroadcastConflictError } from '../live/Broadcasts.js';
import { withClientParams } from './mediaHandlers.js';
import type { HandlerContext, Handlers } from './SignalingServer.js';
import { streamRoom } from './SignalingServer.js';
import { SignalingError } from './SignalingError.js';
import { streamInfo } from './streamInfo.js';

const MAX_PRODUCERS_PER_PEER = 4;

function ownBroadcast(ctx: HandlerContext) {
  const { peer, broadcasts } = ctx;
  if (!peer.broadcasting) throw new SignalingError('bad_request', 'start a broadcast first (broadcast:start)');
  const b = broadcasts.get(peer.broadcasting);
  if (!b || b.ended || b.publisher !== peer.id) throw new SignalingError('conflict', 'you are not broadcasting this stream now');
  return b;
}

export const broadcasterHandlers: Handlers = {
  'broadcast:start': async ({ streamId, resumeKey }, ctx) => {
    const { socket, peer, services, broadcasts, pool } = ctx;
    const user = socket.data.user;
    if (!user) throw new SignalingError('unauthorized', 'sign in to broadcast: connect with an access token');
    const stream = services.streams.byId(streamId);
    if (!stream) throw new SignalingError('not_found', `no stream ${streamId}`);
    if (!canManage(user, stream)) throw new SignalingError('forbidden', 'you may only broadcast into your own streams');
    if (peer.broadcasting && peer.broadcasting !== streamId) {
      broadcasts.get(peer.broadcasting)?.publisherLost(peer.id);
    }
    peer.closeDirection('send');
    let result;
    try {
      result = await broadcasts.start(streamId, peer.id, resumeKey);
    } catch (err) {
      if (err instanceof BroadcastConflictError) throw new SignalingError('conflict', err.message);
      throw err;
    }
    peer.broadcasting = streamId;
    await socket.join(streamRoom(streamId));
    ctx.log.info({ streamId, resumed: result.resumed }, 'broadcasting');
    return {
      stream: streamInfo(services.streams.byId(streamId)!),
      routerRtpCapabilities: pool.rtpCapabilities as unknown as Record<string, unknown>,
      resumed: result.resumed,
      resumeKey: result.broadcast.resumeKey,
    };
  },

  'broadcast:stop': (_p, ctx) => {
    const b = ownBroadcast(ctx);
    void b.end('the broadcaster ended the stream');
    ctx.peer.broadcasting = undefined;
    return {};
  },

  produce: async ({ transportId, kind, rtpParameters, source, height }, ctx) => {
    const { peer } = ctx;
    const b = ownBroadcast(ctx);
    const transport = peer.transport(transportId, 'send');
    if (!transport) throw new SignalingError('not_found', `no send transport ${transportId} on this connection`);
    if (peer.producers.size >= MAX_PRODUCERS_PER_PEER) throw new SignalingError('too_many_requests', 'too many tracks on this connection');
    const producer = await withClientParams('produce', () =>
      transport.produce({ kind, rtpParameters: rtpParameters as unknown as types.RtpParameters, appData: { source, ...(height ? { height } : {}) } }),
    );
    peer.addProducer(producer);
    b.addProducer(producer, source);
    return { id: producer.id };
  },

  'producer:close': ({ producerId }, ctx) => {
    const producer = ctx.peer.producers.get(producerId);
    if (!producer) throw new SignalingError('not_found', `no producer ${producerId} on this connection`);
    producer.close();
    return {};
  },
};
