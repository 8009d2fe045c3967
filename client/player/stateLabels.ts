/** What the UI says for each player state: a short badge and a sentence over the video. */
import type { PlayerState } from './Player.js';

export const STATE_LABELS: Record<PlayerState, { badge: string; message: string }> = {
  connecting: { badge: 'Connecting', message: 'Connecting…' },
  waiting: { badge: 'Offline', message: 'Waiting for the broadcast to start…' },
  live: { badge: 'Live', message: '' },
  reconnecting: { badge: 'Reconnecting', message: 'Reconnecting…' },
  ended: { badge: 'Ended', message: 'This broadcast has ended.' },
  error: { badge: 'Unavailable', message: 'This stream cannot be played.' },
};
