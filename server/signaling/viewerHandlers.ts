/**
 * Viewer requests: join a stream's audience, receive its producers, choose a simulcast layer.
 *
 * `viewer:join` with `recvTransport: true` also makes the receive transport (what `transport:create` would
 * make next) when the stream is live and has a WebRTC seat for the viewer: page load → first frame is one
 * round trip shorter. Both take the seat the same way (openRecvTransport). A join that cannot make it
 * answers without it (the viewer then asks `transport:create`, which says why), unless the socket is gone.
 */
import type { types } from 'mediasoup';
import type { ConsumerInfo, JoinResult, TransportInfo } from '../../shared/signaling.js';
import { canManage, canWatch } from '../auth/access.js';
import { simulcastLayers, TOP_LAYERS, type Broadcast } from '../live/Broadcast.js';
import { LiveError } from '../live/LiveError.js';
import { connectTransport, createTransport, withClientParams } from './mediaHandlers.js';
import type { HandlerContext, Handlers } from './SignalingServer.js';
import { streamRoom } from './SignalingServer.js';
import { SignalingError } from './SignalingError.js';
import { streamInfo } from './streamInfo.js';

const MAX_CONSUMERS_PER_PEER = 8;
/** Simulcast consumers whose viewer chose a layer (`consumer:layers`): the first frame's layer is not raised. */
const layersChosen = new WeakSet<types.Consumer>();

function leave(ctx: HandlerContext): void {
  const { peer, socket, broadcasts } = ctx;
  if (!peer.watching) return;
  peer.closeDirection('recv');
  if (peer.watching !== peer.broadcasting) void socket.leave(streamRoom(peer.watching));
  broadcasts.removeViewer(peer.watching, peer.id);
  peer.watch(undefined);
}

/** What the viewer watches on this node: the stream's broadcast here, or (cluster mode) this node's relay of it. */
function watchedBroadcast(ctx: HandlerContext) {
  if (!ctx.peer.watching) throw new SignalingError('bad_request', 'join a stream first (viewer:join)');
  const b = ctx.broadcasts.viewable(ctx.peer.watching);
  if (!b) throw new LiveError('not_live', 'this stream is not live now');
  return b;
}

/**
 * A receive transport on `b` for this viewer. The seat is taken before the awaits (concurrent requests cannot
 * pass the cap together) and given back exactly once: here if no transport came of it, else when the
 * transport closes.
 */
async function openRecvTransport(ctx: HandlerContext, b: Broadcast): Promise<TransportInfo> {
  const { peer } = ctx;
  const seat = b.seats.take(peer.id);
  try {
    return await createTransport(b, peer, { direction: 'recv', watchToken: peer.watchToken }, (transport) => transport.observer.once('close', seat.release));
  } catch (err) {
    seat.release();
    throw err;
  }
}

/** After an await: the socket is still there, and the broadcast has not ended meanwhile. */
function stillWatching(ctx: HandlerContext, b: Broadcast, what: string): void {
  ctx.peer.assertOpen(what);
  b.assertLive(what);
}

export const viewerHandlers: Handlers = {
  'viewer:join': async ({ streamId, token, recvTransport }, ctx): Promise<JoinResult> => {
    const { services, broadcasts, peer, socket } = ctx;
    const stream = await services.streams.byId(streamId);
    if (!stream) throw new SignalingError('not_found', `no stream ${streamId}`);
    if (!canManage(socket.data.user, stream) && !canWatch(services.tokens, stream, token)) {
      throw new SignalingError(token ? 'forbidden' : 'unauthorized', 'this stream is private: a valid viewer token is needed');
    }
    // Closed while the stream was read: its disconnect has been, so nothing may be counted in for it now.
    peer.assertOpen('viewer:join');
    if (peer.watching !== streamId) {
      leave(ctx);
      peer.watch(streamId);
      broadcasts.addViewer(streamId, peer.id);
      await socket.join(streamRoom(streamId));
      // A socket gone meanwhile was counted out by its disconnect (peer.watching was set before the await).
      peer.assertOpen('viewer:join');
    }
    // Cluster mode: a stream live on another node is watched through this node's relay of it (opened now).
    // A broadcast here is taken without an await (on one machine the path is exactly as before).
    let b = broadcasts.viewable(streamId);
    if (!b) {
      b = await broadcasts.watch(streamId);
      peer.assertOpen('viewer:join');
    }
    const live = b && !b.ended ? b : undefined;
    const webrtc = live ? live.seats.hasRoom(peer.id) : services.config.maxWebrtcViewers > 0;
    let transport: TransportInfo | undefined;
    if (recvTransport && live && webrtc) {
      transport = await openRecvTransport(ctx, live).catch((err: unknown) => {
        ctx.log.debug({ err, streamId }, 'viewer:join: no receive transport; the viewer asks transport:create');
        return undefined;
      });
      // Gone meanwhile: its transport (if made) was closed with it, and so was its seat.
      peer.assertOpen('viewer:join');
    }
    // Ended during that await: answered as not live, without the transport (the Peer's until it leaves or
    // makes the next one, as any transport of an ended broadcast).
    const now = live && !live.ended ? live : undefined;
    return {
      stream: streamInfo(stream),
      broadcast: now ? { session: now.session, state: now.state, producers: now.producerInfos() } : null,
      viewerCount: broadcasts.viewerCount(streamId),
      routerRtpCapabilities: ctx.pool.rtpCapabilities as unknown as Record<string, unknown>,
      delivery: { webrtc, hls: `/hls/${streamId}/master.m3u8` },
      ...(transport && now ? { recvTransport: transport } : {}),
    };
  },

  'viewer:leave': (_p, ctx) => {
    leave(ctx);
    return {};
  },

  'transport:create': async ({ direction }, ctx) => {
    const { peer } = ctx;
    if (direction === 'send') {
      if (!ctx.socket.data.user) throw new SignalingError('forbidden', 'only a broadcaster (after broadcast:start) may send');
      const lease = peer.lease;
      if (!lease) throw new LiveError('not_publisher', 'you are not broadcasting a stream now: start one first (broadcast:start)');
      return createTransport(lease.broadcast, peer, { direction: 'send' });
    }
    return openRecvTransport(ctx, watchedBroadcast(ctx));
  },

  'transport:connect': async ({ transportId, dtlsParameters }, ctx) => {
    await connectTransport(ctx.peer, transportId, dtlsParameters);
    return {};
  },

  consume: async ({ producerId, rtpCapabilities }, ctx): Promise<ConsumerInfo> => {
    const { peer, socket } = ctx;
    const b = watchedBroadcast(ctx);
    const watchToken = peer.watchToken;
    const producer = b.producer(producerId);
    if (!producer) throw new SignalingError('not_found', `no producer ${producerId} in this broadcast`);
    const transport = peer.recvTransport();
    if (!transport || transport.appData.session !== b.session) {
      throw new LiveError('stale_session', 'create a receive transport for the current broadcast first (transport:create)');
    }
    if (peer.consumers.size >= MAX_CONSUMERS_PER_PEER) throw new SignalingError('too_many_requests', 'too many consumers on this connection');
    const caps = rtpCapabilities as unknown as types.RtpCapabilities;
    const canConsume = await withClientParams('consume', () => b.canConsume(transport, producerId, caps));
    stillWatching(ctx, b, 'consume');
    if (!canConsume) throw new SignalingError('bad_request', 'your device cannot receive this codec');
    let consumer: types.Consumer;
    try {
      // A simulcast consumer starts on the lowest layer: the browser sends it whatever its bandwidth (a higher
      // one may be paused while the publisher's estimate ramps up, and a consumer aiming at it waits seconds for
      // a keyframe), and its keyframe is the smallest. Raised to "automatic" once its first frame is sent.
      const preferredLayers = simulcastLayers(producer) > 1 ? { preferredLayers: { spatialLayer: 0, temporalLayer: TOP_LAYERS.temporalLayer } } : {};
      consumer = await withClientParams('consume', () => transport.consume({ producerId, rtpCapabilities: caps, paused: true, ...preferredLayers }));
    } catch (err) {
      // The transport or its router closed under the request: say why, not mediasoup's complaint.
      stillWatching(ctx, b, 'consume');
      if (transport.closed) throw new LiveError('stale_session', 'consume: your receive transport closed meanwhile: create a new one');
      throw err;
    }
    peer.addConsumer(consumer, watchToken);
    consumer.on('producerclose', () => socket.emit('consumer:closed', { consumerId: consumer.id }));
    consumer.on('transportclose', () => socket.emit('consumer:closed', { consumerId: consumer.id }));
    consumer.on('layerschange', (l) =>
      socket.emit('consumer:layerschange', { consumerId: consumer.id, spatialLayer: l?.spatialLayer ?? null, temporalLayer: l?.temporalLayer ?? null }),
    );
    if (consumer.type === 'simulcast') {
      const raise = (l?: types.ConsumerLayers) => {
        if (!l) return void consumer.once('layerschange', raise);
        if (!consumer.closed && !layersChosen.has(consumer)) consumer.setPreferredLayers(TOP_LAYERS).catch(() => undefined);
      };
      consumer.once('layerschange', raise);
    }
    return {
      id: consumer.id,
      producerId,
      kind: consumer.kind,
      rtpParameters: consumer.rtpParameters as unknown as Record<string, unknown>,
      layers: simulcastLayers(producer),
    };
  },

  'consumer:resume': async ({ consumerId }, ctx) => {
    const consumer = ctx.peer.consumers.get(consumerId);
    if (!consumer) throw new SignalingError('not_found', `no consumer ${consumerId} on this connection`);
    // A consumer closed meanwhile (its producer or transport went away) was already told as consumer:closed.
    await consumer.resume().catch((err: unknown) => {
      if (!consumer.closed) throw err;
    });
    // A viewer that joins mid-stream needs a keyframe now, not at the encoder's next one.
    if (consumer.kind === 'video' && !consumer.closed) await consumer.requestKeyFrame().catch(() => undefined);
    return {};
  },

  'consumer:layers': async ({ consumerId, spatialLayer }, ctx) => {
    const consumer = ctx.peer.consumers.get(consumerId);
    if (!consumer) throw new SignalingError('not_found', `no consumer ${consumerId} on this connection`);
    if (consumer.type !== 'simulcast' && consumer.type !== 'svc') return {};
    layersChosen.add(consumer);
    // "Auto" = prefer the top layer: mediasoup then sends the best one the viewer's bandwidth estimate allows.
    await consumer.setPreferredLayers({ ...TOP_LAYERS, ...(spatialLayer !== null ? { spatialLayer } : {}) });
    return {};
  },
};
