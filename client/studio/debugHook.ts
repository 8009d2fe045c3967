/** `window.__studio`: drives the studio from end-to-end tests and the console. */
import type { BroadcastState } from './Broadcaster.js';
import type { Studio } from './Studio.js';

export interface StudioDebugHook {
  readonly state: BroadcastState;
  readonly viewerCount: number;
  /** Every broadcast state the studio went through, oldest first (the last 100). */
  readonly history: BroadcastState[];
  goLive(streamId?: string): Promise<void>;
  end(): Promise<void>;
  /** Drops the signaling connection as a network failure would. */
  dropConnection(): void;
}

declare global {
  interface Window {
    __studio?: StudioDebugHook;
  }
}

export function installStudioDebugHook(studio: Studio): void {
  const history: BroadcastState[] = [studio.state];
  studio.onState((s) => {
    history.push(s);
    if (history.length > 100) history.shift();
  });
  window.__studio = {
    get state() {
      return studio.state;
    },
    get viewerCount() {
      return studio.viewerCount;
    },
    history,
    goLive: (streamId) => studio.goLive(streamId),
    end: () => studio.end(),
    dropConnection: () => studio.dropConnection(),
  };
}
