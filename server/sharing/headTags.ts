/**
 * The <head> additions of a shared page: its <title>, the oEmbed discovery <link>, and Open Graph and
 * Twitter card tags (title, description, image, the player for a live stream). Pure; every value escaped
 * (escapeHtml), so text from users (titles, descriptions) stays text in the page's markup.
 */
import { escapeHtml } from './escapeHtml.js';
import type { Shareable } from './shareable.js';

/** Descriptions in previews are cut here (Open Graph consumers show about this much). */
const DESCRIPTION_MAX = 200;

export function headTags(item: Shareable, oembedUrl: string): string {
  const description = summary(item);
  const meta = (attr: 'property' | 'name', key: string, value: string) => `<meta ${attr}="${key}" content="${escapeHtml(value)}">`;
  const tags = [
    `<title>${escapeHtml(item.title)} · OnAir</title>`,
    `<meta name="description" content="${escapeHtml(description)}">`,
    `<link rel="alternate" type="application/json+oembed" href="${escapeHtml(oembedUrl)}" title="${escapeHtml(item.title)}">`,
    meta('property', 'og:site_name', 'OnAir'),
    meta('property', 'og:type', 'video.other'),
    meta('property', 'og:title', item.title),
    meta('property', 'og:description', description),
    meta('property', 'og:url', item.pageUrl),
    meta('name', 'twitter:title', item.title),
    meta('name', 'twitter:description', description),
  ];
  if (item.thumbnail) {
    tags.push(
      meta('property', 'og:image', item.thumbnail.url),
      meta('property', 'og:image:width', String(item.thumbnail.width)),
      meta('property', 'og:image:height', String(item.thumbnail.height)),
      meta('name', 'twitter:image', item.thumbnail.url),
    );
  }
  tags.push(
    meta('property', 'og:video:url', item.embedUrl),
    meta('property', 'og:video:type', 'text/html'),
    meta('property', 'og:video:width', '640'),
    meta('property', 'og:video:height', '360'),
    // The player card plays in the timeline; it needs an image (its poster).
    meta('name', 'twitter:card', item.thumbnail ? 'player' : 'summary'),
  );
  if (item.thumbnail) {
    tags.push(meta('name', 'twitter:player', item.embedUrl), meta('name', 'twitter:player:width', '640'), meta('name', 'twitter:player:height', '360'));
  }
  return tags.join('\n  ');
}

/** "LIVE · description" while live; a recording or an idle stream: its description, or who broadcasts it. */
function summary(item: Shareable): string {
  const text = item.description.replace(/\s+/g, ' ').trim() || `${item.kind === 'stream' ? 'A stream' : 'A recording'} by ${item.author} on OnAir`;
  const cut = text.length > DESCRIPTION_MAX ? `${text.slice(0, DESCRIPTION_MAX - 1)}…` : text;
  return item.live ? `LIVE · ${cut}` : cut;
}
