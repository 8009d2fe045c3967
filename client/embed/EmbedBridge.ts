/**
 * Connects an embedded Player to the page that frames it: posts the player's events to the parent and obeys
 * the parent's commands (see embedProtocol.ts and docs/embed.md). Only messages from the parent window are
 * obeyed; events go to any origin, since the parent's is not known and they carry nothing secret.
 */
import { errorCode, toError } from '../common/errors.js';
import type { PlaybackMode } from '../player/delivery.js';
import type { Player } from '../player/Player.js';
import { MESSAGE_SOURCE, parseCommand, type EmbedCommand, type EmbedEvent } from './embedProtocol.js';

export class EmbedBridge {
  readonly #player: Player;
  readonly #target: Window;
  readonly #unsubscribe: (() => void)[] = [];
  #mode: PlaybackMode;

  constructor(player: Player, target: Window = window.parent) {
    this.#player = player;
    this.#target = target;
    this.#mode = player.mode;
    const onMessage = (e: MessageEvent) => {
      if (e.source !== this.#target) return;
      const command = parseCommand(e.data);
      if (command) this.#obey(command);
    };
    window.addEventListener('message', onMessage);
    this.#unsubscribe.push(
      () => window.removeEventListener('message', onMessage),
      player.on('state', (state) => {
        this.#post({ type: 'state', state });
        if (state === 'ended') this.#post({ type: 'ended' });
      }),
      player.on('mode', (mode) => {
        if (mode === this.#mode) return; // the player repeats it when a switch was refused
        this.#mode = mode;
        this.#post({ type: 'mode', mode });
      }),
      player.on('playing', () => this.#post({ type: 'playing' })),
      player.on('paused', () => this.#post({ type: 'paused' })),
      player.on('viewerCount', (count) => this.#post({ type: 'viewerCount', count })),
      player.on('error', (err) => this.#post({ type: 'error', code: errorCode(err) ?? 'internal', message: err.message })),
    );
    this.#post({ type: 'ready', state: player.state, mode: player.mode });
  }

  close(): void {
    for (const u of this.#unsubscribe.splice(0)) u();
  }

  #obey(command: EmbedCommand): void {
    const player = this.#player;
    const failed = (err: unknown) => this.#post({ type: 'error', code: errorCode(err) ?? 'media', message: toError(err).message });
    switch (command) {
      case 'play':
        player.play().catch(failed);
        break;
      case 'pause':
        player.pause();
        break;
      case 'mute':
        player.setMuted(true).catch(failed);
        break;
      case 'unmute':
        player.setMuted(false).catch(failed);
        break;
    }
  }

  #post(event: EmbedEvent): void {
    if (this.#target === window) return; // not framed
    this.#target.postMessage({ source: MESSAGE_SOURCE, streamId: this.#player.streamId, ...event }, '*');
  }
}
