/**
 * oEmbed and sharing tags (issue 14) on a real OnAir: GET /oembed for watch, embed and recording URLs, its
 * refusals (other hosts, other paths, private streams, XML, hostile queries), and the watch and video pages'
 * <head>: the discovery link (followed to the same JSON), Open Graph and Twitter tags, every user text
 * escaped (parsed back from the HTML, not string-matched).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'node-html-parser';
import { startRtpSource } from '../helpers/rtpSource.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { until } from '../helpers/until.js';

let s: TestServer;
let ann: string;
const HOSTILE_TITLE = `Tom's "live" </title><script>alert(1)</script> & more`;
let publicId: string;
let unlistedId: string;
let privateId: string;

const oembed = (url: string, extra = '') => fetch(`${s.url}/oembed?url=${encodeURIComponent(url)}${extra}`);

beforeAll(async () => {
  s = await startTestServer({ ONAIR_HLS_LADDER: '360', ONAIR_HLS_PRESET: 'superfast' });
  ann = await s.broadcaster('ann');
  const create = async (body: Record<string, unknown>) => (await s.api('POST', '/api/streams', { token: ann, body })).body.id as string;
  publicId = await create({ title: HOSTILE_TITLE, description: 'Line one\nline "two" <b>bold</b>' });
  unlistedId = await create({ title: 'Unlisted show', visibility: 'unlisted' });
  privateId = await create({ title: 'Secret show', visibility: 'private' });
}, 60_000);
afterAll(async () => {
  await s?.close();
});

describe('GET /oembed', () => {
  it('describes a public stream as a video with its iframe (the embed player), for /watch and /embed URLs alike', async () => {
    for (const page of ['watch', 'embed']) {
      const r = await oembed(`${s.url}/${page}/${publicId}`, '&format=json');
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toMatch(/^application\/json/);
      expect(r.headers.get('access-control-allow-origin')).toBe('*');
      const body = await r.json();
      expect(body).toMatchObject({ version: '1.0', type: 'video', provider_name: 'OnAir', provider_url: s.url, title: HOSTILE_TITLE, author_name: 'ann', width: 640, height: 360 });
      // The HTML is one iframe whose attributes hold the values, escaped.
      const frame = parse(body.html).querySelectorAll('iframe');
      expect(frame).toHaveLength(1);
      expect(frame[0]!.getAttribute('src')).toBe(`${s.url}/embed/${publicId}`);
      expect(frame[0]!.getAttribute('title')).toBe(HOSTILE_TITLE);
      expect(parse(body.html).querySelectorAll('script')).toHaveLength(0);
      // Not live and never recorded: no thumbnail to offer.
      expect(body.thumbnail_url).toBeUndefined();
    }
  });

  it('keeps within maxwidth/maxheight at 16:9, and refuses limits that leave no player', async () => {
    const small = await (await oembed(`${s.url}/watch/${publicId}`, '&maxwidth=480')).json();
    expect([small.width, small.height]).toEqual([480, 270]);
    const byHeight = await (await oembed(`${s.url}/watch/${publicId}`, '&maxwidth=1000&maxheight=180')).json();
    expect([byHeight.width, byHeight.height]).toEqual([320, 180]);
    expect((await oembed(`${s.url}/watch/${publicId}`, '&maxwidth=50')).status).toBe(404);
  });

  it('describes unlisted streams (the link is shared), not private ones (404, like a missing one)', async () => {
    expect((await oembed(`${s.url}/watch/${unlistedId}`)).status).toBe(200);
    const priv = await oembed(`${s.url}/watch/${privateId}`);
    const missing = await oembed(`${s.url}/watch/abcdefghijkl`);
    expect([priv.status, missing.status]).toEqual([404, 404]);
    expect((await priv.json()).error).toBe('not_found');
    expect(JSON.stringify(await (await oembed(`${s.url}/watch/${privateId}`)).json())).not.toContain('Secret');
  });

  it('describes only pages of this server', async () => {
    const other = new URL(s.url);
    for (const url of [
      `http://example.com/watch/${publicId}`,
      `http://${other.hostname}:1/watch/${publicId}`,
      `${s.url}/studio`,
      `${s.url}/watch/${publicId}/more`,
      `${s.url}/api/streams/${publicId}`,
      `javascript:alert(1)//${s.url}/watch/${publicId}`,
      `ftp://${other.host}/watch/${publicId}`,
      'not a url',
    ]) {
      expect((await oembed(url)).status, url).toBe(404);
    }
  });

  it('answers XML with 501 and bad queries with 400 naming the field', async () => {
    const xml = await oembed(`${s.url}/watch/${publicId}`, '&format=xml');
    expect(xml.status).toBe(501);
    for (const q of ['', '?url=', `?url=x&format=yaml`, `?url=x&maxwidth=-3`, `?url=x&maxwidth=1e9`, `?url=${'a'.repeat(3000)}`]) {
      const r = await fetch(`${s.url}/oembed${q}`);
      expect(r.status, q).toBe(400);
      expect((await r.json()).error).toBe('validation_failed');
    }
  });
});

describe('sharing tags in the pages', () => {
  const head = async (path: string) => {
    const r = await fetch(s.url + path);
    expect(r.status).toBe(200);
    return parse(await r.text()).querySelector('head')!;
  };
  const meta = (h: ReturnType<typeof parse>, key: string) =>
    h.querySelector(`meta[property="${key}"]`)?.getAttribute('content') ?? h.querySelector(`meta[name="${key}"]`)?.getAttribute('content');

  it('a watch page carries its title, description, Open Graph and Twitter tags, escaped, and the oEmbed discovery link', async () => {
    const h = await head(`/watch/${publicId}`);
    expect(h.querySelector('title')!.text).toBe(`${HOSTILE_TITLE} · OnAir`);
    expect(h.querySelectorAll('script')).toHaveLength(1); // the page's own module, nothing injected
    expect(meta(h, 'og:title')).toBe(HOSTILE_TITLE);
    expect(meta(h, 'og:description')).toBe('Line one line "two" <b>bold</b>');
    expect(meta(h, 'og:url')).toBe(`${s.url}/watch/${publicId}`);
    expect(meta(h, 'og:type')).toBe('video.other');
    expect(meta(h, 'twitter:title')).toBe(HOSTILE_TITLE);
    expect(meta(h, 'twitter:card')).toBe('summary');
    const link = h.querySelector('link[type="application/json+oembed"]')!;
    expect(link.getAttribute('rel')).toBe('alternate');
    const discovered = await fetch(link.getAttribute('href')!);
    expect(discovered.status).toBe(200);
    expect((await discovered.json()).html).toContain(`/embed/${publicId}`);
  });

  it("a private stream's page says nothing of it", async () => {
    const h = await head(`/watch/${privateId}`);
    expect(h.querySelector('title')!.text).toBe('OnAir');
    expect(h.querySelector('meta[property="og:title"]')).toBeNull();
    expect(h.querySelector('link[type="application/json+oembed"]')).toBeNull();
  });

  it('a missing recording page is served as built; a bad id is a 404', async () => {
    const h = await head('/video/abcdefghijkl');
    expect(h.querySelector('meta[property="og:title"]')).toBeNull();
    expect((await fetch(`${s.url}/video/bad%20id`)).status).toBe(404);
  });
});

describe('thumbnails', () => {
  it('a live stream shares its live thumbnail; once ended, its recording\'s poster', async () => {
    const id = (await s.api('POST', '/api/streams', { token: ann, body: { title: 'Thumbnail show' } })).body.id as string;
    const { lease } = await s.broadcasts.start(id, 'test-publisher');
    const source = await startRtpSource(lease, { width: 640, height: 360 });
    try {
      const thumb = `${s.url}/hls/${id}/thumb.jpg`;
      const live = await until('the live thumbnail in the oEmbed', async () => {
        const body = await (await oembed(`${s.url}/watch/${id}`)).json();
        return body.thumbnail_url ? body : undefined;
      }, 60_000);
      expect(live).toMatchObject({ thumbnail_url: thumb, thumbnail_width: 640, thumbnail_height: 360, cache_age: 60 });
      const image = await fetch(thumb);
      expect([image.status, image.headers.get('content-type')]).toEqual([200, 'image/jpeg']);
      const r = await fetch(`${s.url}/watch/${id}`);
      const h = parse(await r.text()).querySelector('head')!;
      expect(h.querySelector('meta[property="og:image"]')!.getAttribute('content')).toBe(thumb);
      expect(h.querySelector('meta[name="twitter:card"]')!.getAttribute('content')).toBe('player');
      expect(h.querySelector('meta[name="twitter:player"]')!.getAttribute('content')).toBe(`${s.url}/embed/${id}`);
      expect(h.querySelector('meta[name="description"]')!.getAttribute('content')).toMatch(/^LIVE · /);
    } finally {
      source.stop();
    }
    await s.broadcasts.endBroadcast(id, 'test over');
    const rec = await until('the recording', async () => (await s.api('GET', `/api/recordings?streamId=${id}`)).body.recordings[0], 60_000);
    const ended = await (await oembed(`${s.url}/watch/${id}`)).json();
    expect(ended.thumbnail_url).toBe(`${s.url}/hls/${id}/${rec.id}/poster.jpg`);
    // The recording's own page and oEmbed: its page is the iframe (framed like /embed).
    const video = await (await oembed(rec.urls.video)).json();
    expect(video.thumbnail_url).toBe(rec.urls.poster);
    expect(parse(video.html).querySelector('iframe')!.getAttribute('src')).toBe(rec.urls.video);
    const page = await fetch(rec.urls.video);
    expect(page.headers.get('content-security-policy')).toContain('frame-ancestors *');
    expect(page.headers.get('x-frame-options')).toBeNull();
    const h = parse(await page.text()).querySelector('head')!;
    expect(h.querySelector('meta[property="og:image"]')!.getAttribute('content')).toBe(rec.urls.poster);
    expect(h.querySelector('link[type="application/json+oembed"]')!.getAttribute('href')).toBe(`${s.url}/oembed?url=${encodeURIComponent(rec.urls.video)}&format=json`);
  }, 180_000);
});
