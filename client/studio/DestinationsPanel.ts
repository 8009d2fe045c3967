/**
 * The studio's restream destinations (server/restream): the selected stream's RTMP(S) destinations, each with
 * its state (idle, connecting, live, failed with the reason, retrying in N s), a form to add one (URL and
 * stream key; the key is sent once and only its masked hint ever comes back) and a remove button.
 *
 * States arrive as `restream:state` socket events (sent only to the stream's owner and admins) while live;
 * the list is read again when the stream selection changes and when a broadcast starts or ends. Events and
 * answers are validated (shared/restream.ts schemas) before they are shown.
 */
import { destinationInfoSchema, destinationListSchema, restreamStateEventSchema, type DestinationInfo, type RestreamState } from '../../shared/restream.js';
import { api } from '../common/api.js';
import { byId, h, replaceChildren } from '../ui/dom.js';
import { showError, showToast } from '../ui/toast.js';

const STATE_TEXT: Record<RestreamState['state'], string> = {
  idle: 'Idle',
  connecting: 'Connecting',
  live: 'Live',
  failed: 'Failed',
  retrying: 'Retrying',
  disabled: 'Disabled',
};

export class DestinationsPanel {
  readonly #list = byId('destinations-list');
  readonly #form = byId('destination-form', HTMLFormElement);
  readonly #empty = byId('destinations-empty');
  #token: string | undefined;
  #streamId: string | undefined;
  readonly #items = new Map<string, DestinationInfo>();
  /** Answers of an earlier selection are dropped. */
  #generation = 0;

  constructor() {
    this.#form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.#add().catch((err: unknown) => showError(err, 'Cannot add the destination'));
    });
  }

  setToken(token: string | undefined): void {
    this.#token = token;
  }

  /** Shows the destinations of a stream (undefined: none selected). */
  async show(streamId: string | undefined): Promise<void> {
    const generation = ++this.#generation;
    this.#streamId = streamId;
    this.#items.clear();
    this.#form.hidden = !streamId;
    if (streamId && this.#token) {
      const body = destinationListSchema.parse(await api('GET', `/api/streams/${encodeURIComponent(streamId)}/destinations`, { token: this.#token }));
      if (generation !== this.#generation) return;
      for (const d of body.destinations) this.#items.set(d.id, d);
    }
    this.#render();
  }

  /** A `restream:state` socket event. */
  onStateEvent(raw: unknown): void {
    const e = restreamStateEventSchema.safeParse(raw);
    if (!e.success || e.data.streamId !== this.#streamId) return;
    const d = this.#items.get(e.data.destinationId);
    if (!d) return;
    d.status = e.data.status;
    // Once per run of failures (each retry fails again until the destination comes back).
    if (e.data.status.state === 'failed' && e.data.status.failures === 1) showToast(`Restream to ${d.name} failed: ${e.data.status.reason ?? 'unknown reason'}`, 'error');
    this.#render();
  }

  async #add(): Promise<void> {
    const streamId = this.#streamId;
    if (!streamId) return;
    const data = new FormData(this.#form);
    const name = String(data.get('name') ?? '').trim();
    const body = { url: String(data.get('url') ?? '').trim(), streamKey: String(data.get('streamKey') ?? ''), ...(name ? { name } : {}) };
    const created = destinationInfoSchema.parse(await api('POST', `/api/streams/${encodeURIComponent(streamId)}/destinations`, { token: this.#token, body }));
    if (streamId !== this.#streamId) return;
    this.#items.set(created.id, created);
    this.#form.reset();
    this.#render();
  }

  async #remove(d: DestinationInfo): Promise<void> {
    await api('DELETE', `/api/streams/${encodeURIComponent(d.streamId)}/destinations/${encodeURIComponent(d.id)}`, { token: this.#token });
    this.#items.delete(d.id);
    this.#render();
  }

  #render(): void {
    this.#empty.hidden = this.#items.size > 0 || !this.#streamId;
    replaceChildren(
      this.#list,
      ...[...this.#items.values()].map((d) =>
        h(
          'li',
          { class: 'destination', 'data-testid': 'destination', 'data-state': d.status.state },
          h('span', { class: `badge badge--restream-${d.status.state}`, 'data-testid': 'destination-state' }, STATE_TEXT[d.status.state]),
          h('strong', {}, d.name),
          h('span', { class: 'muted' }, `${d.url} · key ${d.streamKeyHint}${d.status.video ? ` · video ${d.status.video === 'copy' ? 'copied' : 'transcoded'}` : ''}`),
          d.status.reason && (d.status.state === 'failed' || d.status.state === 'retrying')
            ? h('span', { class: 'form-error', 'data-testid': 'destination-reason' }, `${d.status.reason}${d.status.retryInMs ? ` (retrying in ${Math.ceil(d.status.retryInMs / 1000)} s)` : ''}`)
            : null,
          h('button', { class: 'link', type: 'button', onclick: () => void this.#remove(d).catch((err: unknown) => showError(err, 'Cannot remove the destination')) }, 'Remove'),
        ),
      ),
    );
  }
}
