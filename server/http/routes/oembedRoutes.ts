/**
 * oEmbed (https://oembed.com), so that sites and chat apps turn an OnAir link into a player:
 *   GET /oembed?url=<a /watch/:id, /embed/:id or /video/:id URL of this server>&format=json[&maxwidth=&maxheight=]
 *     200  { type: 'video', html: <iframe>, width, height, title, author_name, thumbnail_url, … }
 *     400  a bad query (validation_failed); 404 a URL that is not one of this server's shareable pages, or a
 *          private or missing stream/recording (private ones are not told apart from missing ones); 501
 *          format=xml (JSON only, as the spec allows).
 * The URL must name this server (ONAIR_PUBLIC_URL's host, else the request's Host): OnAir describes only its
 * own pages. Consumers often fetch from browsers: the answer is readable cross-origin and cacheable.
 */
import { Router } from 'express';
import { z } from 'zod';
import { ID_PATTERN } from '../../../shared/api.js';
import { frameSize, oembedVideo } from '../../sharing/oembed.js';
import { describeRecording, describeStream, type Shareable, type SharingCatalogue } from '../../sharing/shareable.js';
import { ApiError } from '../ApiError.js';
import { baseUrl } from '../baseUrl.js';
import { parse } from '../validate.js';

const ID = ID_PATTERN.source.replace(/^\^|\$$/g, '');
const PAGE = new RegExp(`^/(watch|embed|video)/(${ID})/?$`);
const dimension = z.coerce.number().int().min(1).max(10_000);

export const oembedQuerySchema = z.object({
  url: z.string().min(1).max(2048),
  format: z.enum(['json', 'xml']).default('json'),
  maxwidth: dimension.optional(),
  maxheight: dimension.optional(),
});

/** The shareable page a URL names on this server; undefined for anything else. */
export async function shareableOf(catalogue: SharingCatalogue, url: string, base: string): Promise<Shareable | undefined> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.host.toLowerCase() !== new URL(base).host.toLowerCase()) return undefined;
  const m = PAGE.exec(u.pathname);
  if (!m) return undefined;
  return m[1] === 'video' ? describeRecording(catalogue, m[2]!, base) : describeStream(catalogue, m[2]!, base);
}

export function oembedRoutes(opts: { catalogue: SharingCatalogue; publicUrl: string | undefined }): Router {
  const r = Router();
  r.get('/oembed', async (req, res) => {
    const q = parse(oembedQuerySchema, req.query, 'query');
    res.setHeader('Access-Control-Allow-Origin', '*');
    // The spec's answer to a format the provider does not serve: 501.
    if (q.format !== 'json') throw new ApiError('not_acceptable', 'only format=json is served', { status: 501 });
    const base = baseUrl(req, opts.publicUrl);
    const item = await shareableOf(opts.catalogue, q.url, base);
    if (!item) throw new ApiError('not_found', 'no public stream or recording of this server at this URL');
    const size = frameSize(q);
    if (!size) throw new ApiError('not_found', 'maxwidth/maxheight leave no room for a player');
    const body = oembedVideo(item, size, base);
    res.setHeader('Cache-Control', `public, max-age=${body.cache_age}`);
    res.json(body);
  });
  return r;
}
