import { h } from './dom.js';

/** A tag as a link to the directory filtered by it: "#music" → /?tag=music. */
export const tagLink = (tag: string): HTMLAnchorElement => h('a', { class: 'tag', href: `/?tag=${encodeURIComponent(tag)}` }, `#${tag}`);
