/**
 * WHIP ingest and WHEP playback against a real server (real mediasoup): every error status, CORS, and real
 * Chromium offers (test/fixtures/sdp) turned into a live broadcast that socket viewers see, and WHEP
 * viewers counted in its audience. No media flows: the server answers without it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as sdpTransform from 'sdp-transform';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, vp8RtpParameters, type TestSocket } from '../helpers/signalingClient.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/sdp/', import.meta.url));
const offer = (name: string) => fs.readFileSync(path.join(FIXTURES, `${name}.sdp`), 'utf8');

let s: TestServer;
let ann: string;
let bob: string;
let admin: string;
const open: TestSocket[] = [];
const sock = async (token?: string) => {
  const c = await connect(s.url, token);
  open.push(c);
  return c;
};

interface Stream {
  id: string;
  streamKey: string;
}
const newStream = async (token: string, visibility = 'public') =>
  (await s.api('POST', '/api/streams', { token, body: { title: 'WHIP test', visibility } })).body as Stream;
const status = async (id: string) => (await s.api('GET', `/api/streams/${id}`, { token: ann })).body.status as string;

/** A raw HTTP request: WHIP bodies are SDP, not JSON. */
async function http(method: string, p: string, opts: { body?: string; type?: string; token?: string; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.body !== undefined) headers['content-type'] = opts.type ?? 'application/sdp';
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const res = await fetch(s.url + p, { method, headers, body: opts.body ?? null });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

const whip = (id: string, key: string | undefined, body = offer('chromium-vp8'), type?: string) =>
  http('POST', `/whip/${id}`, { body, ...(key ? { token: key } : {}), ...(type ? { type } : {}) });
const whep = (id: string, token?: string, body = offer('chromium-whep-recvonly')) => http('POST', `/whep/${id}`, { body, ...(token ? { token } : {}) });

/** Goes live over socket.io with one fake VP8 producer, as the studio would. */
async function studioLive(streamId: string): Promise<TestSocket> {
  const c = await sock(ann);
  const start = await c.request('broadcast:start', { streamId });
  if (!start.ok) throw new Error(start.message);
  const t = await c.request('transport:create', { direction: 'send' });
  if (!t.ok) throw new Error(t.message);
  const p = await c.request('produce', { transportId: t.data.id, kind: 'video', rtpParameters: vp8RtpParameters(), source: 'camera' });
  if (!p.ok) throw new Error(p.message);
  return c;
}

beforeAll(async () => {
  s = await startTestServer({ ONAIR_HLS: 'off', ONAIR_RECONNECT_GRACE_MS: '300' });
  ann = await s.broadcaster('ann');
  bob = await s.broadcaster('bob');
  admin = await s.login();
});
afterEach(() => open.splice(0).forEach((c) => c.disconnect()));
afterAll(async () => s?.close());

describe('WHIP: refusals', () => {
  it('answers the CORS preflight', async () => {
    const st = await newStream(ann);
    for (const p of [`/whip/${st.id}`, `/whip/${st.id}/sessions/AAAAAAAAAAAAAAAAAAAAAAAA`, `/whep/${st.id}`]) {
      const r = await http('OPTIONS', p, { headers: { origin: 'https://obs.example', 'access-control-request-method': 'POST' } });
      expect(r.status, p).toBe(204);
      expect(r.headers.get('access-control-allow-origin')).toBe('*');
      expect(r.headers.get('access-control-allow-methods')).toBe('POST, DELETE, PATCH, OPTIONS');
      expect(r.headers.get('access-control-allow-headers')).toMatch(/Authorization.*Content-Type.*If-Match/);
      expect(r.headers.get('access-control-expose-headers')).toMatch(/Location.*ETag.*Link/);
    }
  });

  it('refuses unknown streams, missing or wrong keys, and other broadcasters', async () => {
    const st = await newStream(ann);
    expect((await whip('AAAAAAAAAAAA', st.streamKey)).status).toBe(404);
    expect((await whip('nope', st.streamKey)).status).toBe(404);
    expect((await whip('x'.repeat(300), st.streamKey)).status).toBe(404);
    const missing = await whip(st.id, undefined);
    expect(missing.status).toBe(401);
    expect(missing.json).toMatchObject({ error: 'unauthorized' });
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(missing.headers.get('access-control-allow-origin')).toBe('*');
    expect((await whip(st.id, 'sk_wrong')).status).toBe(401);
    expect((await whip(st.id, (await newStream(ann)).streamKey)).status).toBe(401);
    expect((await http('POST', `/whip/${st.id}`, { body: offer('chromium-vp8'), headers: { authorization: 'Basic abc' } })).status).toBe(401);
    expect((await whip(st.id, bob)).json).toMatchObject({ error: 'forbidden' });
    expect(await status(st.id)).toBe('idle');
  });

  it('refuses bodies that are not a sane SDP offer', async () => {
    const st = await newStream(ann);
    const key = st.streamKey;
    expect((await whip(st.id, key, offer('chromium-vp8'), 'text/plain')).status).toBe(415);
    expect((await whip(st.id, key, JSON.stringify({ sdp: 'x' }), 'application/json')).json).toMatchObject({ error: 'unsupported_media_type' });
    expect((await http('POST', `/whip/${st.id}`, { token: key })).status).toBe(415);
    const big = await whip(st.id, key, `v=0\r\n${'a=x\r\n'.repeat(20_000)}`);
    expect(big.status).toBe(413);
    expect(big.json).toMatchObject({ error: 'payload_too_large' });
    for (const bad of ['hello', 'v=0\r\n', 'v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n']) {
      const r = await whip(st.id, key, bad);
      expect(r.status, bad.slice(0, 20)).toBe(400);
      expect(r.json.error).toBe('bad_request');
    }
    // An absurd number of m-lines.
    const nine = offer('obs30-h264-opus').replace(/m=audio[\s\S]*$/, (m) => m.repeat(9).replace(/a=mid:0/g, () => `a=mid:${Math.random()}`));
    const many = await whip(st.id, key, nine);
    expect(many.status).toBe(400);
    expect(many.json.message).toMatch(/at most 8/);
    expect(await status(st.id)).toBe('idle');
  });

  it('refuses offers without a codec OnAir takes (406), saying which', async () => {
    const st = await newStream(ann);
    const h265 = offer('obs30-h264-opus').replace('a=rtpmap:96 H264/90000', 'a=rtpmap:96 H265/90000');
    const r = await whip(st.id, st.streamKey, h265);
    expect(r.status).toBe(406);
    expect(r.json).toMatchObject({ error: 'not_acceptable' });
    expect(r.json.message).toMatch(/video: none of the offered codecs \(H265\)/);
    const recvonly = offer('chromium-whep-recvonly');
    expect((await whip(st.id, st.streamKey, recvonly)).status).toBe(406);
    expect(await status(st.id)).toBe('idle');
  });

  it('refuses a stream live from the studio (409), and the studio a stream live over WHIP', async () => {
    const st = await newStream(ann);
    const studio = await studioLive(st.id);
    const r = await whip(st.id, st.streamKey);
    expect(r.status).toBe(409);
    expect(r.json).toMatchObject({ error: 'conflict' });
    await studio.request('broadcast:stop', {});

    const other = await newStream(ann);
    expect((await whip(other.id, other.streamKey)).status).toBe(201);
    const c = await sock(ann);
    expect(await c.request('broadcast:start', { streamId: other.id })).toMatchObject({ ok: false, error: 'conflict' });
    expect((await whip(other.id, other.streamKey)).status).toBe(409);
  });

  it('answers 405 to trickle ICE (PATCH) and other methods, 404 to unknown sessions', async () => {
    const st = await newStream(ann);
    const r = await whip(st.id, st.streamKey);
    expect(r.status).toBe(201);
    const location = r.headers.get('location')!;
    const patch = await http('PATCH', location, { body: 'a=candidate:1 1 udp 1 127.0.0.1 9 typ host', type: 'application/trickle-ice-sdpfrag' });
    expect(patch.status).toBe(405);
    expect(patch.json.message).toMatch(/ICE-lite/);
    expect(patch.headers.get('allow')).toBe('DELETE, OPTIONS');
    expect((await http('GET', `/whip/${st.id}`)).status).toBe(405);
    expect((await http('GET', location)).status).toBe(405);
    const unknown = `/whip/${st.id}/sessions/AAAAAAAAAAAAAAAAAAAAAAAA`;
    expect((await http('DELETE', unknown)).status).toBe(404);
    expect((await http('PATCH', unknown, { body: 'x', type: 'application/trickle-ice-sdpfrag' })).status).toBe(404);
    expect((await http('DELETE', `/whip/${st.id}/sessions/short`)).status).toBe(404);
    const elsewhere = location.replace(st.id, (await newStream(ann)).id);
    expect((await http('DELETE', elsewhere)).status).toBe(404);
    expect((await http('DELETE', location)).status).toBe(204);
  });
});

describe('WHIP: publishing', () => {
  it('turns a Chromium offer into a live broadcast that socket viewers see, and DELETE ends it', async () => {
    const st = await newStream(ann);
    const viewer = await sock();
    await viewer.request('viewer:join', { streamId: st.id });
    const seen = new Promise<{ producers: { kind: string; source: string }[] }>((resolve) =>
      viewer.on('broadcast:producers', (e) => e.producers.length === 2 && resolve(e)),
    );

    const r = await whip(st.id, st.streamKey, offer('chromium-vp8-simulcast'));
    expect(r.status).toBe(201);
    expect(r.headers.get('content-type')).toBe('application/sdp');
    expect(r.headers.get('location')).toMatch(new RegExp(`^/whip/${st.id}/sessions/[A-Za-z0-9_-]{24}$`));
    expect(r.headers.get('etag')).toMatch(/^".+"$/);
    const answer = sdpTransform.parse(r.text);
    expect(answer.icelite).toBe('ice-lite');
    expect(answer.groups).toEqual([{ type: 'BUNDLE', mids: '0 1' }]);
    expect(answer.media.map((m) => [m.type, m.mid, m.direction, m.setup])).toEqual([
      ['audio', 0, 'recvonly', 'passive'],
      ['video', 1, 'recvonly', 'passive'],
    ]);
    for (const m of answer.media) {
      expect(m.fingerprint?.type).toBe('sha-256');
      expect(m.fingerprint?.hash).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
      expect(m.candidates?.length).toBeGreaterThanOrEqual(2);
      expect(m.candidates?.map((c) => c.transport).sort()).toEqual(['tcp', 'udp']);
      expect(m.iceUfrag).toBeTruthy();
    }
    expect(answer.media[1]?.rtp.map((c) => c.codec)).toEqual(['VP8', 'rtx']);
    expect(answer.media[1]?.simulcast).toEqual({ dir1: 'recv', list1: 'q;h;f' });

    expect((await seen).producers.map((p) => [p.kind, p.source]).sort()).toEqual([
      ['audio', 'whip'],
      ['video', 'whip'],
    ]);
    expect(await status(st.id)).toBe('live');
    const late = await sock();
    const join = await late.request('viewer:join', { streamId: st.id });
    expect(join).toMatchObject({ ok: true, data: { broadcast: { state: 'live' } } });
    if (!join.ok || !join.data.broadcast) throw new Error('no broadcast');
    expect(join.data.broadcast.producers.find((p) => p.kind === 'video')?.layers).toBe(3);

    const ended = new Promise<{ reason: string }>((resolve) => viewer.once('broadcast:ended', resolve));
    expect((await http('DELETE', r.headers.get('location')!)).status).toBe(204);
    expect((await ended).reason).toBe('the broadcaster ended the stream');
    expect(await status(st.id)).toBe('ended');
    expect((await http('DELETE', r.headers.get('location')!)).status).toBe(404);
  });

  it('takes OBS and GStreamer shaped offers (H.264 + Opus), and the owner or an admin token instead of the key', async () => {
    for (const [name, token] of [
      ['obs30-h264-opus', ann],
      ['gstreamer-h264-opus-rtx', admin],
      ['chromium-h264', undefined],
    ] as const) {
      const st = await newStream(ann);
      const r = await whip(st.id, token ?? st.streamKey, offer(name));
      expect(r.status, `${name}: ${r.text}`).toBe(201);
      const answer = sdpTransform.parse(r.text);
      const video = answer.media.find((m) => m.type === 'video')!;
      expect(video.rtp[0]?.codec, name).toBe('H264');
      const producers = s.broadcasts.get(st.id)!.producerInfos();
      expect(producers.map((p) => p.kind).sort()).toEqual(['audio', 'video']);
      expect((await http('DELETE', r.headers.get('location')!)).status).toBe(204);
    }
  });
});

describe('WHEP', () => {
  it('refuses unknown streams, streams that are not live, and private streams without the right token', async () => {
    expect((await whep('AAAAAAAAAAAA')).status).toBe(404);
    const idle = await newStream(ann);
    const notLive = await whep(idle.id);
    expect(notLive.status).toBe(409);
    expect(notLive.json.message).toMatch(/not live/);
    expect((await http('POST', `/whep/${idle.id}`, { body: '{}', type: 'application/json' })).status).toBe(415);

    const priv = await newStream(ann, 'private');
    expect((await whip(priv.id, priv.streamKey)).status).toBe(201);
    expect((await whep(priv.id)).status).toBe(401);
    const other = await newStream(ann, 'private');
    const wrong = (await s.api('POST', `/api/streams/${other.id}/viewer-token`, { token: ann })).body.token as string;
    expect((await whep(priv.id, wrong)).status).toBe(403);
    expect((await whep(priv.id, bob)).status).toBe(403);
    const right = (await s.api('POST', `/api/streams/${priv.id}/viewer-token`, { token: ann })).body.token as string;
    expect((await whep(priv.id, right)).status).toBe(201);
    expect((await whep(priv.id, ann)).status).toBe(201);
  });

  it("answers with the viewer's payload types, counts the viewer, and lets it go", async () => {
    const st = await newStream(ann);
    const published = await whip(st.id, st.streamKey, offer('chromium-vp8'));
    expect(published.status).toBe(201);
    const watcher = await sock();
    await watcher.request('viewer:join', { streamId: st.id });
    const counts: number[] = [];
    watcher.on('viewers:count', (e) => counts.push(e.count));

    const r = await whep(st.id);
    expect(r.status, r.text).toBe(201);
    expect(r.headers.get('location')).toMatch(new RegExp(`^/whep/${st.id}/sessions/`));
    const answer = sdpTransform.parse(r.text);
    const offered = sdpTransform.parse(offer('chromium-whep-recvonly'));
    expect(answer.media.map((m) => [m.type, String(m.mid), m.direction])).toEqual(offered.media.map((m) => [m.type, String(m.mid), 'sendonly']));
    const [audio, video] = answer.media;
    // The offer's numbers: Chromium decodes with those, whatever the answer says.
    const ptOf = (m: (typeof offered.media)[number], name: string) => m.rtp.find((c) => c.codec === name)?.payload;
    expect(audio?.rtp.map((c) => [c.codec, c.payload])).toEqual([['opus', ptOf(offered.media[0]!, 'opus')]]);
    expect(video?.rtp.map((c) => [c.codec, c.payload])).toEqual([['VP8', ptOf(offered.media[1]!, 'VP8')]]);
    expect(video?.ssrcs?.find((l) => l.attribute === 'cname')?.id).toBeGreaterThan(0);
    expect(video?.rtcpFb?.map((f) => `${f.type} ${f.subtype ?? ''}`.trim())).toContain('nack pli');
    // Only header extensions whose ids agree with mediasoup's survive.
    for (const m of answer.media) for (const e of m.ext ?? []) expect(offered.media[0]!.ext?.concat(offered.media[1]!.ext ?? []).some((o) => o.value === e.value && o.uri === e.uri)).toBe(true);

    await expect.poll(() => counts.at(-1)).toBe(2);
    expect((await s.api('GET', `/api/streams/${st.id}`)).body.viewerCount).toBe(2);
    expect((await http('PATCH', r.headers.get('location')!, { body: 'x', type: 'application/trickle-ice-sdpfrag' })).status).toBe(405);
    expect((await http('DELETE', r.headers.get('location')!)).status).toBe(204);
    await expect.poll(() => counts.at(-1)).toBe(1);
    expect((await http('DELETE', r.headers.get('location')!)).status).toBe(404);

    // A viewer whose player cannot decode the stream's codec.
    const noVp8 = offer('chromium-whep-recvonly').replace(/a=rtpmap:(\d+) VP8\/90000/, 'a=rtpmap:$1 VP7/90000');
    const refused = await whep(st.id, undefined, noVp8);
    expect(refused.status).toBe(406);
    expect(refused.json.message).toMatch(/VP8/);

    // Ending the broadcast ends the WHEP sessions and their count.
    const again = await whep(st.id);
    expect(again.status).toBe(201);
    await expect.poll(() => s.broadcasts.viewerCount(st.id)).toBe(2);
    expect((await http('DELETE', published.headers.get('location')!)).status).toBe(204);
    await expect.poll(() => s.broadcasts.viewerCount(st.id)).toBe(1);
    expect((await http('DELETE', again.headers.get('location')!)).status).toBe(404);
  });

  it('plays an H.264 broadcast with the H.264 payload type the viewer offered', async () => {
    const st = await newStream(ann);
    expect((await whip(st.id, st.streamKey, offer('obs30-h264-opus'))).status).toBe(201);
    const r = await whep(st.id);
    expect(r.status, r.text).toBe(201);
    const video = sdpTransform.parse(r.text).media[1]!;
    const offered = sdpTransform.parse(offer('chromium-whep-recvonly')).media[1]!;
    const pt = video.rtp[0]!.payload;
    expect(video.rtp[0]!.codec).toBe('H264');
    const fmtp = offered.fmtp.find((f) => f.payload === pt)!.config;
    expect(fmtp).toMatch(/packetization-mode=1/);
    expect(fmtp).toMatch(/profile-level-id=42e01f/);
  });
});

describe('rate limit', () => {
  it('answers a flood of offers from one address with 429 and Retry-After', async () => {
    const results = await Promise.all(Array.from({ length: 60 }, () => whip('AAAAAAAAAAAA', 'sk_x')));
    const limited = results.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(Number(limited[0]!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limited[0]!.json).toMatchObject({ error: 'too_many_requests' });
  });
});
