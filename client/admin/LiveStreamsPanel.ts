/** "Live now": every stream live on this server, its viewers by delivery, bitrate and health; end it or rotate its key. */
import type { AdminLiveStream } from '../../shared/adminApi.js';
import { byId, h, replaceChildren } from '../ui/dom.js';
import { showError, showToast } from '../ui/toast.js';
import type { AdminContext } from './AdminConsole.js';

/** "2,450 kbit/s" (video + audio) for an encoder; a dash for a studio broadcast, whose page measures its own. */
const bitrateText = (s: AdminLiveStream): string =>
  s.bitrate ? `${Math.round(s.bitrate.videoKbps + s.bitrate.audioKbps).toLocaleString('en')} kbit/s` : '–';
const bitrateTitle = (s: AdminLiveStream): string =>
  s.bitrate
    ? `${s.bitrate.source.toUpperCase()}: video ${s.bitrate.videoKbps} kbit/s, audio ${s.bitrate.audioKbps} kbit/s (measured ${new Date(s.bitrate.measuredAt).toLocaleTimeString()})`
    : 'Measured for encoder broadcasts (WHIP, RTMP, SRT); a studio broadcast measures its own sending';

export class LiveStreamsPanel {
  readonly #ctx: AdminContext;
  readonly #rows = byId('live-rows');
  readonly #empty = byId('live-empty');

  constructor(ctx: AdminContext) {
    this.#ctx = ctx;
  }

  async refresh(): Promise<void> {
    const { streams } = await this.#ctx.call<{ streams: AdminLiveStream[] }>('GET', '/api/admin/streams/live');
    this.#empty.hidden = streams.length > 0;
    replaceChildren(this.#rows, ...streams.map((s) => this.#row(s)));
  }

  #row(s: AdminLiveStream): HTMLTableRowElement {
    const health = s.health.ok ? 'OK' : [!s.health.publisher ? 'no publisher' : '', s.health.hls === false ? 'HLS not running' : ''].filter(Boolean).join(', ');
    return h(
      'tr',
      { 'data-stream-id': s.id },
      h('td', {}, h('a', { href: s.watchUrl, target: '_blank', rel: 'noopener' }, s.title), s.visibility === 'public' ? null : h('span', { class: 'muted' }, ` (${s.visibility})`)),
      h('td', {}, s.owner),
      h('td', {}, s.state),
      h('td', { 'data-testid': 'viewers-total' }, s.viewers.total),
      h('td', { 'data-testid': 'viewers-webrtc' }, s.viewers.webrtc),
      h('td', { 'data-testid': 'viewers-whep' }, s.viewers.whep),
      h('td', { 'data-testid': 'viewers-hls' }, s.viewers.hls),
      h('td', { 'data-testid': 'bitrate', title: bitrateTitle(s) }, bitrateText(s)),
      h('td', { class: s.health.ok ? 'health--ok' : 'health--bad' }, health),
      h(
        'td',
        {},
        h('button', { class: 'button', type: 'button', onclick: () => void this.#rotate(s) }, 'Rotate key'),
        ' ',
        h('button', { class: 'button button--danger', type: 'button', onclick: () => void this.#end(s) }, 'End'),
      ),
    );
  }

  async #end(s: AdminLiveStream): Promise<void> {
    if (!window.confirm(`End the broadcast of "${s.title}"? Its viewers see it end.`)) return;
    try {
      await this.#ctx.call('POST', `/api/admin/streams/${encodeURIComponent(s.id)}/end`, {});
      showToast(`"${s.title}" ended.`);
    } catch (err) {
      showError(err, 'Cannot end the broadcast');
    }
    await this.#ctx.refresh();
  }

  async #rotate(s: AdminLiveStream): Promise<void> {
    if (!window.confirm(`Give "${s.title}" a new stream key? Encoders using the old one cannot connect again.`)) return;
    try {
      await this.#ctx.call('POST', `/api/streams/${encodeURIComponent(s.id)}/rotate-key`);
      showToast(`"${s.title}" has a new stream key (its owner sees it in the studio).`);
    } catch (err) {
      showError(err, 'Cannot rotate the key');
    }
  }
}
