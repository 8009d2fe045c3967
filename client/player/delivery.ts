/**
 * How the player receives a live stream: 'webrtc' (mediasoup, under a second of latency, "Low latency") or
 * 'hls' (the HLS ladder, a few seconds behind, "Standard"). The player starts with WebRTC and falls back to
 * HLS by itself when the stream has all the WebRTC viewers it takes, when WebRTC cannot connect (UDP blocked),
 * or when the browser has no WebRTC; the viewer may also choose in the player's menu.
 */

export type PlaybackMode = 'webrtc' | 'hls';
/** What the viewer asked for (`?mode=` or the menu); 'auto' lets the player choose. */
export type ModePreference = PlaybackMode | 'auto';
/** Why the player plays HLS although WebRTC was wanted. */
export type FallbackReason = 'full' | 'unreachable' | 'unsupported';

export const MODE_LABELS: Record<PlaybackMode, string> = { webrtc: 'Low latency', hls: 'Standard' };

/** How long a WebRTC transport may take to connect before the player gives up and plays HLS. */
export const WEBRTC_CONNECT_TIMEOUT_MS = 5000;

export function webrtcSupported(): boolean {
  return typeof globalThis.RTCPeerConnection === 'function';
}

/** `?mode=` of the watch and embed pages: "hls" (or "standard"), "webrtc" (or "low-latency"), else auto. */
export function parseModePreference(value: string | undefined): ModePreference {
  switch (value?.trim().toLowerCase()) {
    case 'hls':
    case 'standard':
      return 'hls';
    case 'webrtc':
    case 'low-latency':
      return 'webrtc';
    default:
      return 'auto';
  }
}

/** The mode to start in. */
export function initialMode(preference: ModePreference, canWebrtc: boolean): PlaybackMode {
  return preference === 'hls' || !canWebrtc ? 'hls' : 'webrtc';
}

/** What the viewer is told when the player plays Standard instead of Low latency. */
export function fallbackMessage(reason: FallbackReason): string {
  switch (reason) {
    case 'full':
      return 'Low latency is full right now (this stream has as many low-latency viewers as it takes): playing Standard instead.';
    case 'unreachable':
      return 'Low latency could not connect (the network may block it): playing Standard instead.';
    case 'unsupported':
      return 'This browser cannot play Low latency: playing Standard instead.';
  }
}
