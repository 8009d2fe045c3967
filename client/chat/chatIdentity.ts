/**
 * What this browser chats as: a chat session id (random, kept in localStorage, so moderators can hold an
 * anonymous viewer across reloads) and the display name picked last; and, when the person is signed in to
 * OnAir in this tab (the studio's session), their access token, so they chat under their account.
 */
import { loadSession } from '../studio/session.js';

const SESSION_KEY = 'onair.chat.session';
const NAME_KEY = 'onair.chat.name';

function storage(): Storage | undefined {
  try {
    return globalThis.localStorage;
  } catch {
    return undefined; // storage blocked (third-party iframe with cookies off)
  }
}

/** This page's session when storage is blocked. */
let memorySession: string | undefined;

export function chatSession(): string {
  const stored = storage()?.getItem(SESSION_KEY) ?? memorySession;
  if (stored && /^[A-Za-z0-9_-]{16,64}$/.test(stored)) return stored;
  const bytes = crypto.getRandomValues(new Uint8Array(18));
  const id = btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  memorySession = id;
  try {
    storage()?.setItem(SESSION_KEY, id);
  } catch {
    /* full or blocked: this page keeps it in memory */
  }
  return id;
}

export function storedName(): string | undefined {
  return storage()?.getItem(NAME_KEY) ?? undefined;
}

export function storeName(name: string | undefined): void {
  try {
    if (name) storage()?.setItem(NAME_KEY, name);
    else storage()?.removeItem(NAME_KEY);
  } catch {
    /* not kept: asked again next time */
  }
}

/** The signed-in account's access token in this tab, if any (and not about to expire). */
export function accountToken(): string | undefined {
  try {
    return loadSession()?.token;
  } catch {
    return undefined;
  }
}
