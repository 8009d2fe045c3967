/** The studio's sign-in form (POST /api/auth/login); errors are shown under the form. */
import { byId } from '../ui/dom.js';
import { signIn, type Session } from './session.js';

export class SignInForm {
  readonly #section = byId('signin');
  readonly #form = byId('signin-form', HTMLFormElement);
  readonly #error = byId('signin-error');

  constructor(onSignedIn: (session: Session) => void) {
    this.#form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const data = new FormData(this.#form);
      const submit = this.#form.querySelector('button[type=submit]') as HTMLButtonElement;
      submit.disabled = true;
      this.#showError('');
      try {
        const session = await signIn(String(data.get('username') ?? ''), String(data.get('password') ?? ''));
        this.#form.reset();
        onSignedIn(session);
      } catch (err) {
        this.#showError(err instanceof Error ? err.message : String(err));
      } finally {
        submit.disabled = false;
      }
    });
  }

  show(message = ''): void {
    this.#section.hidden = false;
    this.#showError(message);
    (this.#form.elements.namedItem('username') as HTMLInputElement).focus();
  }

  hide(): void {
    this.#section.hidden = true;
  }

  #showError(message: string): void {
    this.#error.textContent = message;
    this.#error.hidden = !message;
  }
}
