/**
 * How the player receives a live stream: 'webrtc' (mediasoup, under a second of latency, "Low latency") or
 * 'hls' (the HLS ladder, a few seconds behind, "Standard"). The player starts with WebRTC and falls back to
 * HLS by itself when the stream has all the WebRTC viewers it takes, when WebRTC cannot connect (UDP blocked),
 * or when the browser has no WebRTC; the viewer may also choose in the player's menu.
 *
 * Each mode is a Delivery: WebRtcDelivery (a mediasoup receive transport, its consumers, simulcast layers)
 * or HlsDelivery (the HLS ladder through hls.js, its renditions). The Player owns one of each, for as long
 * as it lives; it joins the stream, keeps the state, chooses the mode, and tells the delivery of that mode
 * to receive the broadcast (each has its own `sync`/`play`) and the other one to stop. A delivery tells the
 * Player through its hooks when what it shows changed.
 */
import type { PlaybackStats } from './playbackStats.js';

export type PlaybackMode = 'webrtc' | 'hls';
/** What the viewer asked for (`?mode=` or the menu); 'auto' lets the player choose. */
export type ModePreference = PlaybackMode | 'auto';
/** Why the player plays HLS although WebRTC was wanted. */
export type FallbackReason = 'full' | 'unreachable' | 'unsupported';

export interface Delivery {
  readonly mode: PlaybackMode;
  /** Something plays: tracks arrive (WebRTC) or frames are shown (HLS). */
  readonly receiving: boolean;
  /** The quality choices, lowest first, and the one received now (the viewer's choice is the Player's). */
  quality(): { names: string[]; current: number | null };
  /** Applies the viewer's current choice of quality (read from the Player) now. */
  applyQuality(): Promise<void>;
  stats(): Promise<PlaybackStats>;
  /** Stops receiving (nobody broadcasts, the other mode plays, the socket dropped); it may start again. */
  stop(): void;
  /** Stops for good and lets go of every subscription. Idempotent. */
  close(): void;
}

/** What a delivery tells the Player. */
export interface DeliveryHooks {
  /** What is shown or offered changed (tracks, playback started or stopped, layers, renditions). */
  onChange(): void;
}

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
