/** Helpers shared by both roles: transports of a broadcast, and client-supplied parameters. */
import type { types } from 'mediasoup';
import type { TransportInfo } from '../../shared/signaling.js';
import type { Broadcast } from '../live/Broadcast.js';
import type { Direction, Peer } from './Peer.js';
import { SignalingError } from './SignalingError.js';

/** A WebRTC transport: a sender's on the broadcast's router, a viewer's wherever the broadcast places it. */
export async function createTransport(broadcast: Broadcast, peer: Peer, direction: Direction): Promise<TransportInfo> {
  const options = {
    enableUdp: true,
    enableTcp: true,
    preferUdp: true,
    initialAvailableOutgoingBitrate: 1_000_000,
    appData: { peer: peer.id, direction, session: broadcast.session },
  };
  const transport =
    direction === 'send'
      ? await broadcast.router.createWebRtcTransport({ ...options, webRtcServer: broadcast.webRtcServer })
      : await broadcast.createViewerTransport(peer.id, options);
  if (direction === 'send') await transport.setMaxIncomingBitrate(8_000_000).catch(() => undefined);
  peer.addTransport(transport, direction);
  return {
    id: transport.id,
    iceParameters: transport.iceParameters,
    iceCandidates: transport.iceCandidates,
    dtlsParameters: transport.dtlsParameters,
  };
}

/** Runs a mediasoup call fed with client parameters: its complaints are the client's error, not ours. */
export async function withClientParams<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof SignalingError) throw err;
    throw new SignalingError('bad_request', `${what}: ${err instanceof Error ? err.message : 'rejected'}`);
  }
}

export function connectTransport(peer: Peer, transportId: string, dtlsParameters: Record<string, unknown>): Promise<void> {
  const transport = peer.anyTransport(transportId);
  if (!transport || transport.closed) throw new SignalingError('not_found', `no transport ${transportId} on this connection`);
  return withClientParams('transport:connect', () => transport.connect({ dtlsParameters: dtlsParameters as unknown as types.DtlsParameters }));
}
