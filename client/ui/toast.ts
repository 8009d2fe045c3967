/** Toasts: short messages in a corner; errors stay until dismissed, others go after a few seconds. */
import { toError } from '../common/errors.js';
import { h } from './dom.js';

type Kind = 'info' | 'error';

function container(): HTMLElement {
  let box = document.getElementById('toasts');
  if (!box) {
    box = h('div', { id: 'toasts', class: 'toasts', role: 'status', 'aria-live': 'polite' });
    document.body.appendChild(box);
  }
  return box;
}

export function showToast(message: string, kind: Kind = 'info'): void {
  const box = container();
  // The same message twice in a row is shown once.
  if (box.lastElementChild?.textContent?.startsWith(message)) return;
  const toast = h('div', { class: `toast toast--${kind}`, role: kind === 'error' ? 'alert' : null }, h('span', {}, message));
  const close = () => toast.remove();
  toast.appendChild(h('button', { class: 'toast__close', type: 'button', 'aria-label': 'Dismiss', onclick: close }, '×'));
  box.appendChild(toast);
  while (box.children.length > 4) box.firstElementChild?.remove();
  if (kind !== 'error') setTimeout(close, 5000);
}

/** Shows what went wrong, with the server's message when there is one. */
export function showError(err: unknown, context?: string): void {
  const e = toError(err);
  console.error(context ?? 'onair error', e);
  showToast(context ? `${context}: ${e.message}` : e.message, 'error');
}
