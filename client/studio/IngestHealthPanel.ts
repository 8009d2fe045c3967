/**
 * The studio's "Encoder health" card: for a stream fed by an encoder (OBS or GStreamer over WHIP, RTMP,
 * SRT), what the server measures on its way in (bitrate, frame rate, keyframe interval, resolution, loss)
 * and its warnings, each saying what to change; when the server ends such a broadcast, why (for instance
 * VP8 without PictureID), once as a toast and in the card.
 *
 * Events arrive as `ingest:health` socket events (server/ingest/health; sent only to the stream's owner and
 * admins), validated (shared/ingestHealth.ts) before they are shown; only the selected stream's are shown.
 * The card stays hidden until the selected stream has an encoder broadcast; a new selection empties it.
 *
 * The studio's own browser publish shows here too ("Browser · live"): its send-side stats (onUpload, every
 * stats sample while live) through the same rules module (server/ingest/health/healthRules.ts uploadWarnings:
 * the top layer's bitrate the upload allows far below the studio's target for it, loss, round-trip time). Its ramp-up clock restarts at
 * each (re)connection; the card hides when the browser's broadcast is off air.
 */
import { ingestHealthEventSchema, type IngestHealthEvent } from '../../shared/ingestHealth.js';
import { uploadWarnings } from '../../server/ingest/health/healthRules.js';
import { byId, h, replaceChildren } from '../ui/dom.js';
import { formatBitrate } from '../ui/format.js';
import { showToast } from '../ui/toast.js';
import type { BroadcastState } from './Broadcaster.js';
import type { SendStats } from './sendStats.js';
import { simulcastEncodings } from './simulcast.js';

const SOURCE_TEXT: Record<IngestHealthEvent['source'], string> = { whip: 'WHIP', rtmp: 'RTMP', srt: 'SRT' };

const orDash = (v: number | null, unit: string) => (v === null ? '–' : `${v} ${unit}`);

export class IngestHealthPanel {
  readonly #card = byId('health');
  readonly #state = byId('health-state');
  readonly #figures = byId('health-figures');
  readonly #warnings = byId('health-warnings');
  #streamId: string | undefined;
  /** The end already told for this stream (one toast per end). */
  #toldEnd: string | undefined;
  /** When the browser's publish (re)connected: WebRTC's bandwidth estimate ramps up from there. */
  #uploadSince: number | undefined;

  /** Shows the health of a stream (undefined: none selected); empty until its first event. */
  show(streamId: string | undefined): void {
    if (streamId === this.#streamId) return;
    this.#streamId = streamId;
    this.#uploadSince = undefined;
    this.#card.hidden = true;
    replaceChildren(this.#figures);
    replaceChildren(this.#warnings);
  }

  /** An `ingest:health` socket event. */
  onEvent(raw: unknown): void {
    const parsed = ingestHealthEventSchema.safeParse(raw);
    if (!parsed.success || parsed.data.streamId !== this.#streamId) return;
    const e = parsed.data;
    this.#card.hidden = false;
    this.#state.textContent = e.state === 'live' ? `${SOURCE_TEXT[e.source]} · live` : `${SOURCE_TEXT[e.source]} · ended`;
    this.#state.dataset.state = e.state;
    const m = e.measured;
    const row = (term: string, value: string) => h('div', {}, h('dt', {}, term), h('dd', {}, value));
    replaceChildren(
      this.#figures,
      row('Video', `${Math.round(m.videoKbps)} kbit/s`),
      row('Audio', `${Math.round(m.audioKbps)} kbit/s`),
      row('FPS', orDash(m.fps, 'fps')),
      row('Keyframes every', orDash(m.keyframeIntervalSeconds === null ? null : Math.round(m.keyframeIntervalSeconds * 10) / 10, 's')),
      row('Resolution', m.height === null ? '–' : `${m.height}p`),
      row('Packet loss', `${m.lossPercent} %`),
    );
    const items = e.warnings.map((w) => h('li', { class: 'health__warning', 'data-code': w.code }, w.message));
    if (e.state === 'ended' && e.reason) {
      items.unshift(h('li', { class: 'health__ended', 'data-code': 'ended' }, `The broadcast ended: ${e.reason}`));
      const key = `${e.streamId} ${e.at}`;
      if (this.#toldEnd !== key) {
        this.#toldEnd = key;
        showToast(`The encoder's broadcast ended: ${e.reason}`);
      }
    }
    replaceChildren(this.#warnings, ...items);
  }

  /** The studio's own broadcast changed state: off air hides its upload health; a reconnection ramps again. */
  onBroadcastState(state: BroadcastState): void {
    if (state === 'live') return;
    this.#uploadSince = undefined;
    if (this.#state.dataset.state === 'upload') this.#card.hidden = true;
  }

  /** One sample of the browser's send-side stats (Broadcaster 'stats', while live on the selected stream). */
  onUpload(s: SendStats): void {
    if (!this.#streamId) return;
    this.#uploadSince ??= Date.now();
    const top = s.layers.reduce<SendStats['layers'][number] | undefined>((best, l) => (l.height > 0 && (!best || l.height > best.height) ? l : best), undefined);
    // The top layer is sent at the capture's size: the studio's target for it is simulcast.ts's.
    const target = top ? (simulcastEncodings(top.height).at(-1)?.maxBitrate ?? 0) : 0;
    const warnings = uploadWarnings({
      videoKbps: (top?.bitrate ?? 0) / 1000,
      height: top?.height ?? 0,
      targetKbps: target / 1000,
      allowedKbps: top?.targetBitrate == null ? null : top.targetBitrate / 1000,
      rttMs: s.rttMs,
      lossPercent: s.lossPercent,
      secondsLive: (Date.now() - this.#uploadSince) / 1000,
    });
    this.#card.hidden = false;
    this.#state.textContent = 'Browser · live';
    this.#state.dataset.state = 'upload';
    const row = (term: string, value: string) => h('div', {}, h('dt', {}, term), h('dd', {}, value));
    replaceChildren(
      this.#figures,
      row('Video (top layer)', top ? formatBitrate(top.bitrate) : '–'),
      row('Resolution', top ? `${top.height}p` : '–'),
      row('FPS', top ? top.fps.toFixed(0) : '–'),
      row('Round trip', s.rttMs === null ? '–' : `${s.rttMs} ms`),
      row('Packet loss', s.lossPercent === null ? '–' : `${s.lossPercent.toFixed(1)} %`),
    );
    replaceChildren(this.#warnings, ...warnings.map((w) => h('li', { class: 'health__warning', 'data-code': w.code }, w.message)));
  }
}
