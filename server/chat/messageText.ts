/**
 * What is left of a chat message's text once cleaned, or undefined when nothing is. Pure.
 * Messages are shown as text (never HTML), so markup needs no escaping here; what is removed is what would
 * let one message disturb the page or pass for another: control characters (a line ending may stay, at most
 * two in a row), and the Unicode direction overrides and isolates that can make text read backwards
 * (U+202A–U+202E, U+2066–U+2069). Links stay text: the server never fetches them and pages do not link them.
 */
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/gu;

export function cleanMessageText(raw: string): string | undefined {
  const text = raw
    .replace(/\r\n?/g, '\n')
    .replace(/\t/g, ' ')
    .replace(CONTROLS, '')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  return text.length > 0 ? text : undefined;
}
