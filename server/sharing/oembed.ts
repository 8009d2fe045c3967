/**
 * oEmbed (https://oembed.com) for OnAir's pages: `type: video` with the iframe that plays it. Pure: the route
 * (server/http/routes/oembedRoutes.ts) validates the request and finds the Shareable.
 *
 * The iframe is 16:9, 640×360 unless the consumer's maxwidth/maxheight ask for smaller (never larger: the spec
 * says the provider must not exceed them). Every value put into the HTML is escaped (escapeHtml), so a title
 * or an id can never close the attribute it sits in.
 */
import { escapeHtml } from './escapeHtml.js';
import type { Shareable } from './shareable.js';

export interface OEmbedVideo {
  version: '1.0';
  type: 'video';
  provider_name: 'OnAir';
  provider_url: string;
  title: string;
  author_name: string;
  html: string;
  width: number;
  height: number;
  thumbnail_url?: string;
  thumbnail_width?: number;
  thumbnail_height?: number;
  cache_age: number;
}

const DEFAULT = { width: 640, height: 360 };
/** Smaller than this is no player. */
const MIN_WIDTH = 200;

/** The iframe's size: 16:9 within the consumer's limits; undefined when the limits leave no room for a player. */
export function frameSize(max: { maxwidth?: number | undefined; maxheight?: number | undefined }): { width: number; height: number } | undefined {
  let width = DEFAULT.width;
  if (max.maxwidth !== undefined) width = Math.min(width, max.maxwidth);
  if (max.maxheight !== undefined) width = Math.min(width, Math.floor((max.maxheight * 16) / 9));
  if (width < MIN_WIDTH) return undefined;
  return { width, height: Math.floor((width * 9) / 16) };
}

export function oembedVideo(item: Shareable, size: { width: number; height: number }, providerUrl: string): OEmbedVideo {
  const html =
    `<iframe src="${escapeHtml(item.embedUrl)}" width="${size.width}" height="${size.height}" title="${escapeHtml(item.title)}" ` +
    `frameborder="0" allow="autoplay; fullscreen; picture-in-picture" allowfullscreen></iframe>`;
  return {
    version: '1.0',
    type: 'video',
    provider_name: 'OnAir',
    provider_url: providerUrl,
    title: item.title,
    author_name: item.author,
    html,
    width: size.width,
    height: size.height,
    ...(item.thumbnail
      ? { thumbnail_url: item.thumbnail.url, thumbnail_width: item.thumbnail.width, thumbnail_height: item.thumbnail.height }
      : {}),
    // A live stream's thumbnail and state change: consumers should not keep this for long.
    cache_age: item.live ? 60 : 3600,
  };
}
