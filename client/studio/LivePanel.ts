/** The studio's live panel: state, elapsed time, viewers (and by delivery), and what is being sent (per simulcast layer). */
import { byId, h, replaceChildren } from '../ui/dom.js';
import { formatBitrate, formatDuration } from '../ui/format.js';
import type { BroadcastState } from './Broadcaster.js';
import type { SendStats } from './sendStats.js';

const STATE_TEXT: Record<BroadcastState, string> = {
  idle: 'Off air',
  connecting: 'Connecting',
  live: 'Live',
  reconnecting: 'Reconnecting',
  ended: 'Ended',
};

export class LivePanel {
  readonly #state = byId('live-state');
  readonly #elapsed = byId('live-elapsed');
  readonly #viewers = byId('live-viewers');
  readonly #split = byId('live-split');
  readonly #bitrate = byId('live-bitrate');
  readonly #fps = byId('live-fps');
  readonly #resolution = byId('live-resolution');
  readonly #codec = byId('live-codec');
  readonly #rtt = byId('live-rtt');
  readonly #loss = byId('live-loss');
  readonly #layers = byId('live-layers');
  #since: number | undefined;
  readonly #clock: ReturnType<typeof setInterval>;

  constructor() {
    this.#clock = setInterval(() => this.#renderElapsed(), 1000);
    this.setState('idle');
    this.setViewers(0);
  }

  setState(state: BroadcastState): void {
    this.#state.textContent = STATE_TEXT[state];
    this.#state.className = `badge badge--${state}`;
    this.#state.dataset.state = state;
    if (state === 'connecting') this.#since = undefined;
    if (state === 'live') this.#since ??= Date.now();
    if (state === 'idle' || state === 'ended') {
      this.#since = undefined;
      this.setStats(undefined);
    }
    this.#renderElapsed();
  }

  setViewers(n: number): void {
    this.#viewers.textContent = String(n);
  }

  /** The viewers by delivery while live; undefined hides it. */
  setSplit(split: { webrtc: number; whep: number; hls: number } | undefined): void {
    this.#split.hidden = !split;
    this.#split.textContent = split ? `WebRTC ${split.webrtc} · WHEP ${split.whep} · HLS ${split.hls}` : '';
  }

  setStats(s: SendStats | undefined): void {
    const dash = '–';
    this.#bitrate.textContent = s ? formatBitrate(s.bitrate) : dash;
    this.#fps.textContent = s ? s.fps.toFixed(0) : dash;
    this.#resolution.textContent = s && s.width ? `${s.width}×${s.height}` : dash;
    this.#codec.textContent = s?.videoCodec ?? dash;
    this.#rtt.textContent = s?.rttMs != null ? `${s.rttMs} ms` : dash;
    this.#loss.textContent = s?.lossPercent != null ? `${s.lossPercent.toFixed(1)} % (${s.packetsLost})` : dash;
    replaceChildren(
      this.#layers,
      ...(s?.layers ?? []).map((l) =>
        h(
          'tr',
          {},
          h('td', {}, l.rid || '–'),
          h('td', {}, l.width ? `${l.width}×${l.height}` : 'paused'),
          h('td', {}, l.fps.toFixed(0)),
          h('td', {}, formatBitrate(l.bitrate)),
        ),
      ),
    );
  }

  #renderElapsed(): void {
    this.#elapsed.textContent = this.#since === undefined ? '0:00' : formatDuration(Date.now() - this.#since);
  }

  close(): void {
    clearInterval(this.#clock);
  }
}
