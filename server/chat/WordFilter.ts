/**
 * A stream's word filter: the words (or phrases) its moderators do not allow. A message matches when one of
 * them appears as a whole word, whatever the case, width or accents (NFKD without marks, lower case):
 * "Spam", "ＳＰＡＭ" and "spám" match "spam"; "spammer" does not (whole words only, so that a filter of
 * "ass" does not refuse "class"). Pure; built once per settings change, used per message.
 */
const fold = (s: string) => s.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export class WordFilter {
  readonly words: readonly string[];
  readonly #pattern: RegExp | undefined;

  constructor(words: readonly string[]) {
    this.words = normalizeFilter(words);
    const alternatives = this.words.map((w) => fold(w).split(/\s+/u).map(escape).join('\\s+'));
    this.#pattern = alternatives.length > 0 ? new RegExp(`(?<![\\p{L}\\p{N}])(?:${alternatives.join('|')})(?![\\p{L}\\p{N}])`, 'u') : undefined;
  }

  /** The first filtered word the text holds, or undefined. */
  match(text: string): string | undefined {
    if (!this.#pattern) return undefined;
    const m = this.#pattern.exec(fold(text));
    return m?.[0];
  }
}

/** Trimmed, one space between words, without duplicates (case-insensitive) or empty entries, in the given order. */
export function normalizeFilter(words: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const w of words) {
    const word = w.normalize('NFKC').trim().replace(/\s+/gu, ' ');
    const key = fold(word);
    if (!word || seen.has(key)) continue;
    seen.add(key);
    out.push(word);
  }
  return out;
}
