/**
 * LL-HLS at go-live, from the player's side (real mediasoup, real ffmpeg ladder, an RTP source of VP8 + Opus):
 * the master playlist is served once every rendition has its init segment and the first rendition its first
 * part (not after a full segment of every rendition), and every rendition's playlist, asked right then, answers
 * with parts and a preload hint (waiting for its own first part if need be), never a 404.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRtpSource, type RtpSource } from '../helpers/rtpSource.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { until } from '../helpers/until.js';

let s: TestServer;
let streamId: string;
let source: RtpSource | undefined;
const get = (p: string) => fetch(s.url + p);
const uris = (playlist: string) => playlist.split('\n').filter((l) => l && !l.startsWith('#'));

beforeAll(async () => {
  s = await startTestServer({ ONAIR_HLS_LADDER: '360,240', ONAIR_HLS_PRESET: 'superfast', LOG_LEVEL: 'warn' });
  const ann = await s.broadcaster('ann');
  streamId = (await s.api('POST', '/api/streams', { token: ann, body: { title: 'LL-HLS go-live' } })).body.id;
  const { lease } = await s.broadcasts.start(streamId, 'test-publisher');
  source = await startRtpSource(lease, { width: 640, height: 360 });
}, 60_000);
afterAll(async () => {
  source?.stop();
  await s?.close();
});

describe('LL-HLS at go-live (real mediasoup + ffmpeg)', () => {
  it('serves the master from the first part, and every rendition playlist then answers with parts', async () => {
    // Watch the session's packagers from before their first output: the first moment the master may be served
    // (every init, and a part of the first rendition) comes well before every rendition has a full segment.
    const ladder = await until('the LL-HLS packagers', () => s.hls.liveSession(streamId)?.ladder, 30_000);
    expect(ladder.packagers.every((p) => p.nextPartId === 0)).toBe(true);
    const firstMoment = new Promise<{ playable: boolean; segmentsInEvery: boolean; master: Promise<Response> }>((resolve) => {
      const offs = ladder.packagers.map((p) =>
        p.subscribe(() => {
          const r0 = ladder.packagers[0]!;
          if (ladder.variants() === undefined || (r0.building?.parts.length ?? 0) + r0.segments.length === 0) return;
          offs.forEach((off) => off());
          resolve({
            playable: ladder.playable,
            segmentsInEvery: ladder.packagers.every((x) => x.segments.length > 0),
            master: get(`/hls/${streamId}/master.m3u8`), // asked at that moment
          });
        }),
      );
    });
    const moment = await firstMoment;
    expect(moment).toMatchObject({ playable: true, segmentsInEvery: false });
    const masterResponse = await moment.master;
    expect(masterResponse.status).toBe(200);
    const renditions = uris(await masterResponse.text());
    expect(renditions).toHaveLength(2);
    // Asked at once, all together: none 404s; each lists its first part (independent) and hints the next.
    const answers = await Promise.all(renditions.map(async (u) => {
      const r = await get(`/hls/${streamId}/${u}`);
      return { code: r.status, text: await r.text() };
    }));
    for (const a of answers) {
      expect(a.code, a.text).toBe(200);
      expect(a.text).toMatch(/#EXT-X-PART:DURATION=[\d.]+,URI="r\d_p0\.m4s",INDEPENDENT=YES/);
      expect(a.text).toMatch(/#EXT-X-PRELOAD-HINT:TYPE=PART,URI="r\d_p\d+\.m4s"/);
    }
  }, 60_000);
});
