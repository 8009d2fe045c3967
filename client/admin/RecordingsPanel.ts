/** Recordings (the public list, newest first): open or delete one. */
import type { Recording, RecordingList } from '../../shared/api.js';
import { byId, h, replaceChildren } from '../ui/dom.js';
import { formatDuration } from '../ui/format.js';
import { showError, showToast } from '../ui/toast.js';
import type { AdminContext } from './AdminConsole.js';

export class RecordingsPanel {
  readonly #ctx: AdminContext;
  readonly #rows = byId('recording-rows');
  readonly #empty = byId('recordings-empty');

  constructor(ctx: AdminContext) {
    this.#ctx = ctx;
  }

  async refresh(): Promise<void> {
    const { recordings } = await this.#ctx.call<RecordingList>('GET', '/api/recordings?limit=50');
    this.#empty.hidden = recordings.length > 0;
    replaceChildren(this.#rows, ...recordings.map((r) => this.#row(r)));
  }

  #row(r: Recording): HTMLTableRowElement {
    return h(
      'tr',
      { 'data-recording-id': r.id },
      h('td', {}, h('a', { href: new URL(r.urls.video).pathname, target: '_blank', rel: 'noopener' }, r.title)),
      h('td', {}, r.owner.username),
      h('td', {}, new Date(r.startedAt).toLocaleString()),
      h('td', {}, formatDuration(r.durationSeconds * 1000)),
      h('td', {}, h('button', { class: 'button button--danger', type: 'button', onclick: () => void this.#delete(r) }, 'Delete')),
    );
  }

  async #delete(r: Recording): Promise<void> {
    if (!window.confirm(`Delete the recording "${r.title}" of ${new Date(r.startedAt).toLocaleString()}? Its files are removed.`)) return;
    try {
      await this.#ctx.call('DELETE', `/api/recordings/${encodeURIComponent(r.id)}`);
      showToast('Recording deleted.');
    } catch (err) {
      showError(err, 'Cannot delete the recording');
    }
    await this.refresh().catch((err: unknown) => showError(err));
  }
}
