/**
 * The player's mediasoup-client Device. mediasoup-client (≈ 190 kB) is imported on demand, so the page's
 * own script is small and starts the signaling socket sooner; and the Device can load with capabilities
 * fetched over HTTP while that socket connects (Device.load probes a local RTCPeerConnection, tens of ms),
 * instead of after `viewer:join`.
 */
import type { Device, types } from 'mediasoup-client';
import type { MediaCapabilities } from '../../shared/api.js';
import { api } from '../common/api.js';

export type RouterCapabilities = Record<string, unknown>;

/** The routers' RTP capabilities, from GET /api/media/capabilities. */
export async function fetchRouterCapabilities(): Promise<RouterCapabilities> {
  return (await api<MediaCapabilities>('GET', '/api/media/capabilities')).routerRtpCapabilities;
}

/** A loaded Device; undefined when mediasoup-client cannot drive this browser's WebRTC. */
export async function loadDevice(capabilities: RouterCapabilities | Promise<RouterCapabilities>): Promise<Device | undefined> {
  const [client, routerRtpCapabilities] = await Promise.all([importMediasoupClient(), capabilities]);
  try {
    const device = new client.Device();
    await device.load({ routerRtpCapabilities: routerRtpCapabilities as unknown as types.RtpCapabilities });
    return device;
  } catch (err) {
    if (err instanceof Error && err.name === 'UnsupportedError') return undefined;
    throw err;
  }
}

type MediasoupClient = typeof import('mediasoup-client');

/** mediasoup-client is CommonJS: imported dynamically, the bundler hands it over as the default export. */
async function importMediasoupClient(): Promise<MediasoupClient> {
  const mod = (await import('mediasoup-client')) as MediasoupClient & { default?: MediasoupClient };
  return mod.default?.Device ? mod.default : mod;
}
