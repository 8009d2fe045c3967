/**
 * Display names of anonymous chat viewers (signed-in viewers chat under their account's name). Pure.
 *
 * Why each rule: names are shown next to messages, so they are normalised (NFKC, one space between words)
 * and limited to letters, digits, spaces and `_ - . '` (no invisible or direction-changing characters that
 * would let "admin" + U+200B pass for "admin"); a name may not be an account's (the owner's and admins'
 * names cannot be taken), nor look like a protected one once case, separators and common look-alike
 * characters (0/o, 1/l/i, Cyrillic а/е/о…) are folded (`nameKey`), nor be a word such as "moderator".
 */
import { CHAT_NAME_MAX, CHAT_NAME_MIN } from '../../shared/chat.js';

export type NameCheck = { ok: true; name: string } | { ok: false; problem: string; taken?: boolean };

/** Words no anonymous viewer may call themselves (compared by nameKey). */
export const RESERVED_NAMES = ['admin', 'administrator', 'moderator', 'mod', 'owner', 'onair', 'system', 'staff', 'host', 'broadcaster'];

const LOOK_ALIKES: Record<string, string> = {
  '0': 'o', '1': 'l', i: 'l', '|': 'l', '3': 'e', '4': 'a', '5': 's', '7': 't', '8': 'b', '9': 'g',
  а: 'a', е: 'e', о: 'o', р: 'p', с: 'c', у: 'y', х: 'x', к: 'k', м: 'm', т: 't', н: 'h', в: 'b', і: 'l', ј: 'j', ѕ: 's',
  α: 'a', ο: 'o', ρ: 'p', ε: 'e', ι: 'l', κ: 'k', ν: 'v', τ: 't', υ: 'u', χ: 'x',
};

/** The form two names are compared in: "Ad_m1n" and "admin" have the same key. */
export function nameKey(name: string): string {
  let key = '';
  for (const ch of name.normalize('NFKC').toLowerCase()) {
    if (!/[\p{L}\p{N}|]/u.test(ch)) continue;
    key += LOOK_ALIKES[ch] ?? ch;
  }
  return key;
}

const ALLOWED = /^[\p{L}\p{N}][\p{L}\p{M}\p{N} _.'-]*$/u;

/**
 * Checks a name a viewer asked for. `protectedNames`: names nobody else may look like (the stream owner's,
 * the admins'); `isAccountName`: whether an account has exactly this name (case-insensitive).
 */
export function checkDisplayName(raw: string, protectedNames: Iterable<string>, isAccountName: (name: string) => boolean): NameCheck {
  const name = raw.normalize('NFKC').trim().replace(/\s+/gu, ' ');
  const length = [...name].length;
  if (length < CHAT_NAME_MIN || length > CHAT_NAME_MAX) return { ok: false, problem: `a name has ${CHAT_NAME_MIN} to ${CHAT_NAME_MAX} characters` };
  if (!ALLOWED.test(name)) return { ok: false, problem: "a name holds letters, digits, spaces and _ - . ' only, and starts with a letter or digit" };
  const key = nameKey(name);
  if (key.length < CHAT_NAME_MIN) return { ok: false, problem: 'a name needs at least two letters or digits' };
  for (const word of RESERVED_NAMES) if (key === nameKey(word)) return { ok: false, problem: `"${name}" is reserved`, taken: true };
  for (const p of protectedNames) if (key === nameKey(p)) return { ok: false, problem: `"${name}" is taken`, taken: true };
  if (isAccountName(name)) return { ok: false, problem: `"${name}" is taken`, taken: true };
  return { ok: true, name };
}
