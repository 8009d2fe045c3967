/** The broadcaster's sign-in: the access token lives in sessionStorage (this tab only), until it expires. */
import type { LoginResponse } from '../../shared/api.js';
import { api } from '../common/api.js';

const KEY = 'onair.session';

export type Session = LoginResponse;

export function loadSession(now = Date.now()): Session | undefined {
  try {
    const s = JSON.parse(sessionStorage.getItem(KEY) ?? 'null') as Session | null;
    if (s && typeof s.token === 'string' && Date.parse(s.expiresAt) > now + 60_000) return s;
  } catch {
    /* corrupt: sign in again */
  }
  sessionStorage.removeItem(KEY);
  return undefined;
}

export async function signIn(username: string, password: string): Promise<Session> {
  const session = await api<LoginResponse>('POST', '/api/auth/login', { body: { username, password } });
  sessionStorage.setItem(KEY, JSON.stringify(session));
  return session;
}

export function signOut(): void {
  sessionStorage.removeItem(KEY);
}
