/**
 * The studio's stream choice: the broadcaster's own streams (GET /api/streams/mine) in a list, and a form
 * that creates one (POST /api/streams).
 *
 * After a creation the form is emptied and folded, and the new stream is selected.
 *
 * A stream's status in the list follows what this page saw happen (setStatus: the broadcast started, the
 * stop was answered, broadcast:ended) at once. The server's list may lag behind it (a stream is called
 * ended only once its recording is finished), so a status seen here wins over the server's in every list
 * fetched until the server agrees, or until one fetched long after (then the stream changed elsewhere,
 * e.g. an encoder went live).
 */
import { LIMITS, VISIBILITIES, type CreateStreamBody, type OwnedStream, type StreamStatus, type Visibility } from '../../shared/api.js';
import { api, ApiError } from '../common/api.js';
import { TypedEmitter } from '../common/TypedEmitter.js';
import { byId, h, replaceChildren } from '../ui/dom.js';
import { showError, showToast } from '../ui/toast.js';

/** How long a status seen on this page wins over the server's lists that disagree. */
const SEEN_STATUS_MS = 15_000;

export type StreamPickerEvents = {
  change: [OwnedStream | undefined];
  /** The API refused the token: sign in again. */
  unauthorized: [];
};

export class StreamPicker extends TypedEmitter<StreamPickerEvents> {
  readonly #select = byId('stream-select', HTMLSelectElement);
  readonly #form = byId('create-form', HTMLFormElement);
  readonly #watchLink = byId('watch-link', HTMLAnchorElement);
  readonly #status = byId('stream-status');
  #streams: OwnedStream[] = [];
  #token = '';
  readonly #seen = new Map<string, { status: StreamStatus; at: number }>();

  constructor() {
    super();
    const visibility = this.#form.elements.namedItem('visibility') as HTMLSelectElement;
    replaceChildren(visibility, ...VISIBILITIES.map((v) => h('option', { value: v }, v)));
    (this.#form.elements.namedItem('title') as HTMLInputElement).maxLength = LIMITS.titleMax;
    this.#select.addEventListener('change', () => this.#changed());
    this.#form.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.#create();
    });
  }

  get selected(): OwnedStream | undefined {
    return this.#streams.find((s) => s.id === this.#select.value);
  }

  setToken(token: string): void {
    this.#token = token;
  }

  /** Locks the choice while live. */
  setLocked(locked: boolean): void {
    this.#select.disabled = locked;
  }

  async refresh(selectId = this.#select.value): Promise<void> {
    try {
      const { streams } = await api<{ streams: OwnedStream[] }>('GET', '/api/streams/mine', { token: this.#token });
      this.#streams = streams.map((s) => this.#withSeenStatus(s, Date.now()));
    } catch (err) {
      return this.#failed(err, 'Cannot load your streams');
    }
    this.#render(selectId);
  }

  /** What this page saw happen to a stream's broadcast: shown now, without asking the server. */
  setStatus(id: string, status: StreamStatus): void {
    this.#seen.set(id, { status, at: Date.now() });
    const i = this.#streams.findIndex((s) => s.id === id);
    if (i < 0 || this.#streams[i]!.status === status) return;
    this.#streams[i] = { ...this.#streams[i]!, status };
    this.#render(this.#select.value);
  }

  #withSeenStatus(stream: OwnedStream, now: number): OwnedStream {
    const seen = this.#seen.get(stream.id);
    if (!seen) return stream;
    if (seen.status === stream.status || now - seen.at > SEEN_STATUS_MS) {
      this.#seen.delete(stream.id);
      return stream;
    }
    return { ...stream, status: seen.status };
  }

  #render(selectId: string): void {
    replaceChildren(
      this.#select,
      this.#streams.length === 0 ? h('option', { value: '' }, 'No stream yet: create one') : null,
      ...this.#streams.map((s) => h('option', { value: s.id }, `${s.title} (${s.visibility}, ${s.status})`)),
    );
    if (this.#streams.some((s) => s.id === selectId)) this.#select.value = selectId;
    this.#changed();
  }

  /** Selects a stream by id (from ?stream= or a test). */
  select(id: string): boolean {
    if (!this.#streams.some((s) => s.id === id)) return false;
    this.#select.value = id;
    this.#changed();
    return true;
  }

  #changed(): void {
    const s = this.selected;
    this.#watchLink.hidden = !s;
    this.#status.textContent = s ? `${s.visibility} · ${s.status}` : '';
    if (s) this.#watchLink.href = `/watch/${encodeURIComponent(s.id)}`;
    this.emit('change', s);
  }

  async #create(): Promise<void> {
    const data = new FormData(this.#form);
    const body: CreateStreamBody = {
      title: String(data.get('title') ?? '').trim(),
      description: String(data.get('description') ?? ''),
      tags: String(data.get('tags') ?? '')
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean),
      visibility: String(data.get('visibility') ?? 'public') as Visibility,
    };
    try {
      const created = await api<OwnedStream>('POST', '/api/streams', { token: this.#token, body });
      this.#form.reset();
      // The form folds away: left open and empty, it read as if the stream had not been made.
      const details = this.#form.closest('details');
      if (details) details.open = false;
      showToast(`Stream "${created.title}" created.`);
      await this.refresh(created.id);
    } catch (err) {
      this.#failed(err, 'Cannot create the stream');
    }
  }

  #failed(err: unknown, context: string): void {
    if (err instanceof ApiError && err.status === 401) return this.emit('unauthorized');
    showError(err, context);
  }
}
