/** Helpers shared by both roles: transports of a broadcast, and client-supplied parameters. */
import type { types } from 'mediasoup';
import type { TransportInfo } from '../../shared/signaling.js';
import type { Broadcast } from '../live/Broadcast.js';
import type { Direction, Peer } from './Peer.js';
import { LiveError } from '../live/LiveError.js';
import { SignalingError } from './SignalingError.js';

/**
 * A WebRTC transport: a sender's on the broadcast's router, a viewer's wherever the broadcast places it.
 * The peer takes it (a peer closed meanwhile closes it and throws): `onTaken` runs only then.
 */
export async function createTransport(
  broadcast: Broadcast,
  peer: Peer,
  { direction, watchToken }: { direction: Direction; watchToken?: number },
  onTaken: (transport: types.WebRtcTransport) => void = () => undefined,
): Promise<TransportInfo> {
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
  peer.addTransport(transport, direction, watchToken);
  onTaken(transport);
  if (direction === 'send') await transport.setMaxIncomingBitrate(8_000_000).catch(() => undefined);
  peer.assertOpen('transport:create');
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
    if (err instanceof SignalingError || err instanceof LiveError) throw err;
    throw new SignalingError('bad_request', `${what}: ${err instanceof Error ? err.message : 'rejected'}`);
  }
}

export function connectTransport(peer: Peer, transportId: string, dtlsParameters: Record<string, unknown>): Promise<void> {
  const transport = peer.anyTransport(transportId);
  if (!transport || transport.closed) throw new SignalingError('not_found', `no transport ${transportId} on this connection`);
  return withClientParams('transport:connect', () => transport.connect({ dtlsParameters: dtlsParameters as unknown as types.DtlsParameters }));
}
