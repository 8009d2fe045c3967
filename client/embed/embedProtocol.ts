/**
 * The postMessage API between an embedded player (/embed/:id) and the page around it; documented in
 * docs/embed.md. Every message carries `source: 'onair'` so that pages can tell ours from others'.
 */
import type { PlaybackMode } from '../player/delivery.js';
import type { PlayerState } from '../player/Player.js';

export const MESSAGE_SOURCE = 'onair';

/** Events the player posts to its parent. */
export type EmbedEvent =
  | { type: 'ready'; state: PlayerState; mode: PlaybackMode }
  | { type: 'state'; state: PlayerState }
  | { type: 'mode'; mode: PlaybackMode }
  | { type: 'playing' }
  | { type: 'paused' }
  | { type: 'ended' }
  | { type: 'error'; code: string; message: string }
  | { type: 'viewerCount'; count: number };

export type EmbedMessage = EmbedEvent & { source: typeof MESSAGE_SOURCE; streamId: string };

export const EMBED_COMMANDS = ['play', 'pause', 'mute', 'unmute'] as const;
export type EmbedCommand = (typeof EMBED_COMMANDS)[number];

/** A command from the parent, or undefined for anything else (other scripts' messages included). */
export function parseCommand(data: unknown): EmbedCommand | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const { source, command } = data as { source?: unknown; command?: unknown };
  if (source !== MESSAGE_SOURCE || typeof command !== 'string') return undefined;
  return (EMBED_COMMANDS as readonly string[]).includes(command) ? (command as EmbedCommand) : undefined;
}
