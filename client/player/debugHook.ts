/**
 * `window.__onair`: a read-only view of the player for end-to-end tests and for debugging in the console:
 * the state, every state it went through, the mode (WebRTC or HLS), and what it receives.
 */
import type { PlaybackMode } from './delivery.js';
import type { PlaybackStats } from './playbackStats.js';
import type { Player, PlayerState } from './Player.js';

export interface PlayerDebugHook {
  readonly state: PlayerState;
  readonly viewerCount: number;
  /** 'webrtc' (Low latency) or 'hls' (Standard). */
  readonly mode: PlaybackMode;
  /** Every state the player went through, oldest first (the last 100). */
  readonly history: PlayerState[];
  stats(): Promise<PlaybackStats>;
}

declare global {
  interface Window {
    __onair?: PlayerDebugHook;
  }
}

export function installDebugHook(player: Player): void {
  const history: PlayerState[] = [player.state];
  player.on('state', (s) => {
    history.push(s);
    if (history.length > 100) history.shift();
  });
  window.__onair = {
    get state() {
      return player.state;
    },
    get viewerCount() {
      return player.viewerCount;
    },
    get mode() {
      return player.mode;
    },
    history,
    stats: () => player.stats(),
  };
}
