/** Accounts: every user with role and state; create, change role, disable/enable, set a new password. */
import { LIMITS, ROLES, type PublicUser, type Role } from '../../shared/api.js';
import type { AdminUser } from '../../shared/adminApi.js';
import { byId, h, replaceChildren } from '../ui/dom.js';
import { formatAgo } from '../ui/format.js';
import { showError, showToast } from '../ui/toast.js';
import type { AdminContext } from './AdminConsole.js';

export class UsersPanel {
  readonly #ctx: AdminContext;
  readonly #rows = byId('user-rows');
  readonly #form = byId('user-form', HTMLFormElement);

  constructor(ctx: AdminContext) {
    this.#ctx = ctx;
    (this.#form.elements.namedItem('password') as HTMLInputElement).minLength = LIMITS.passwordMin;
    this.#form.onsubmit = (e) => {
      e.preventDefault();
      void this.#create();
    };
  }

  async refresh(): Promise<void> {
    const { users } = await this.#ctx.call<{ users: AdminUser[] }>('GET', '/api/admin/users');
    replaceChildren(this.#rows, ...users.map((u) => this.#row(u)));
  }

  #row(u: AdminUser): HTMLTableRowElement {
    const self = u.id === this.#ctx.me.id;
    const role = h('select', { 'aria-label': `Role of ${u.username}`, disabled: self }, ...ROLES.map((r) => h('option', { value: r, selected: r === u.role }, r)));
    role.addEventListener('change', () => void this.#patch(u, { role: role.value as Role }, `${u.username} is now ${role.value}.`));
    return h(
      'tr',
      { 'data-username': u.username },
      h('td', {}, u.username, self ? h('span', { class: 'muted' }, ' (you)') : null),
      h('td', {}, role),
      h('td', { 'data-testid': 'user-state' }, u.disabled ? 'disabled' : 'active'),
      h('td', { title: u.createdAt }, formatAgo(u.createdAt)),
      h(
        'td',
        {},
        h('button', { class: 'button', type: 'button', onclick: () => void this.#password(u) }, 'Set password'),
        ' ',
        self
          ? null
          : h(
              'button',
              { class: `button${u.disabled ? '' : ' button--danger'}`, type: 'button', onclick: () => void this.#patch(u, { disabled: !u.disabled }, `${u.username} is ${u.disabled ? 'enabled' : 'disabled'}.`) },
              u.disabled ? 'Enable' : 'Disable',
            ),
      ),
    );
  }

  async #patch(u: AdminUser, body: { role?: Role; disabled?: boolean }, done: string): Promise<void> {
    try {
      await this.#ctx.call('PATCH', `/api/admin/users/${encodeURIComponent(u.id)}`, body);
      showToast(done);
    } catch (err) {
      showError(err, `Cannot change ${u.username}`);
    }
    await this.refresh().catch((err: unknown) => showError(err));
  }

  async #password(u: AdminUser): Promise<void> {
    const password = window.prompt(`New password for ${u.username} (at least ${LIMITS.passwordMin} characters):`);
    if (!password) return;
    try {
      await this.#ctx.call('POST', `/api/admin/users/${encodeURIComponent(u.id)}/password`, { password });
      showToast(`${u.username}'s password is changed.`);
    } catch (err) {
      showError(err, 'Cannot set the password');
    }
  }

  async #create(): Promise<void> {
    const data = new FormData(this.#form);
    const body = { username: String(data.get('username') ?? '').trim(), password: String(data.get('password') ?? ''), role: String(data.get('role') ?? 'broadcaster') };
    try {
      const user = await this.#ctx.call<PublicUser>('POST', '/api/users', body);
      this.#form.reset();
      const details = this.#form.closest('details');
      if (details) details.open = false;
      showToast(`${user.username} can sign in now.`);
    } catch (err) {
      showError(err, 'Cannot create the user');
    }
    await this.refresh().catch((err: unknown) => showError(err));
  }
}
