/**
 * The admin console (/admin): sign in (an admin's account; the studio's session is reused, it is per tab),
 * then live streams with their viewers by delivery, accounts, recordings and the server, refreshed every
 * REFRESH_MS while the page is open. Every action is an API call (server/admin/adminRoutes.ts); the tables
 * are redrawn from the server's answer after each, so what is shown is what the server holds.
 * A non-admin who signs in is told so and signed out (the API refuses them anyway: 403).
 */
import type { PublicUser } from '../../shared/api.js';
import { api, ApiError } from '../common/api.js';
import { loadSession, signOut, type Session } from '../studio/session.js';
import { SignInForm } from '../studio/SignInForm.js';
import { byId } from '../ui/dom.js';
import { showError } from '../ui/toast.js';
import { LiveStreamsPanel } from './LiveStreamsPanel.js';
import { RecordingsPanel } from './RecordingsPanel.js';
import { ServerPanel } from './ServerPanel.js';
import { UsersPanel } from './UsersPanel.js';

const REFRESH_MS = 5000;

/** What the panels share: the signed-in admin's API calls and a redraw of everything. */
export interface AdminContext {
  call<T>(method: string, path: string, body?: unknown): Promise<T>;
  refresh(): Promise<void>;
  readonly me: PublicUser;
}

export class AdminConsole {
  readonly #signIn = new SignInForm((s) => void this.#enter(s));
  readonly #console = byId('console');
  #session: Session | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #panels: { refresh(): Promise<void> }[] = [];

  start(): void {
    byId('signout', HTMLButtonElement).addEventListener('click', () => this.#leave());
    byId('live-refresh', HTMLButtonElement).addEventListener('click', () => void this.#refresh());
    const session = loadSession();
    if (session) void this.#enter(session);
    else this.#signIn.show();
  }

  async #enter(session: Session): Promise<void> {
    if (session.user.role !== 'admin') return this.#leave(`${session.user.username} is not an admin: sign in with an admin's account.`);
    this.#session = session;
    this.#signIn.hide();
    this.#console.hidden = false;
    byId('admin-name').textContent = session.user.username;
    const ctx: AdminContext = {
      me: session.user,
      call: (method, path, body) => this.#call(method, path, body),
      refresh: () => this.#refresh(),
    };
    this.#panels = [new LiveStreamsPanel(ctx), new UsersPanel(ctx), new RecordingsPanel(ctx), new ServerPanel(ctx)];
    await this.#refresh();
    clearInterval(this.#timer);
    this.#timer = setInterval(() => void this.#refresh(), REFRESH_MS);
  }

  #leave(message = ''): void {
    clearInterval(this.#timer);
    this.#session = undefined;
    this.#panels = [];
    signOut();
    this.#console.hidden = true;
    this.#signIn.show(message);
  }

  async #call<T>(method: string, path: string, body?: unknown): Promise<T> {
    try {
      return await api<T>(method, path, { token: this.#session?.token, ...(body === undefined ? {} : { body }) });
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) this.#leave('Your session has expired: sign in again.');
      if (err instanceof ApiError && err.status === 403 && path.startsWith('/api/admin')) this.#leave('This account is not an admin.');
      throw err;
    }
  }

  async #refresh(): Promise<void> {
    const results = await Promise.allSettled(this.#panels.map((p) => p.refresh()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed && this.#session) showError(failed.reason, 'Cannot load the console');
  }
}
