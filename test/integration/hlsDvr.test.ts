/**
 * Rewind (DVR) on a real OnAir (real ffmpeg ladder, real packager): with ONAIR_DVR_MINUTES=0.2 (12 s), the
 * live rendition playlist lists closed segments back to 12 s from the live edge, more than the in-memory
 * window (7 segments), and never older; the oldest listed segment and its init are served (from disk); a
 * delta update skips the old ones. Bad ONAIR_DVR_MINUTES values stop the server at start.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRtpSource, type RtpSource } from '../helpers/rtpSource.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { until } from '../helpers/until.js';

const DVR_SECONDS = 12;
let s: TestServer;
let streamId: string;
let source: RtpSource;

const get = (p: string) => fetch(s.url + p);

interface Listed {
  firstMsn: number;
  segments: Array<{ uri: string; duration: number }>;
  text: string;
}

function parse(text: string): Listed {
  const lines = text.split('\n');
  const segments: Listed['segments'] = [];
  lines.forEach((l, i) => {
    if (l.startsWith('#EXTINF:')) segments.push({ duration: Number(l.slice(8).replace(/,$/, '')), uri: lines[i + 1]! });
  });
  return { firstMsn: Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)![1]), segments, text };
}

beforeAll(async () => {
  s = await startTestServer({ ONAIR_HLS_LADDER: '240', ONAIR_HLS_PRESET: 'superfast', ONAIR_DVR_MINUTES: String(DVR_SECONDS / 60) });
  const ann = await s.broadcaster('ann');
  streamId = (await s.api('POST', '/api/streams', { token: ann, body: { title: 'DVR' } })).body.id;
  const { lease } = await s.broadcasts.start(streamId, 'test-publisher');
  source = await startRtpSource(lease, { width: 320, height: 240 });
  await until('the live master playlist', async () => (await get(`/hls/${streamId}/master.m3u8`)).status === 200, 60_000);
}, 90_000);
afterAll(async () => {
  source?.stop();
  await s?.close();
});

describe('DVR', () => {
  it('lists segments back to ONAIR_DVR_MINUTES, beyond the in-memory window, never older, and serves them', async () => {
    const master = await (await get(`/hls/${streamId}/master.m3u8`)).text();
    const rendition = master.split('\n').find((l) => l && !l.startsWith('#'))!; // "<session>/r0.m3u8"
    const folder = rendition.slice(0, rendition.lastIndexOf('/') + 1);
    // Live long enough that the oldest segments fell out of the DVR window.
    const listed = await until(
      'segments older than the DVR window dropped',
      async () => {
        const p = parse(await (await get(`/hls/${streamId}/${rendition}`)).text());
        return p.firstMsn >= 3 ? p : undefined;
      },
      90_000,
    );
    const total = listed.segments.reduce((t, x) => t + x.duration, 0);
    expect(total).toBeLessThanOrEqual(DVR_SECONDS + 0.001);
    // Close to the limit: the next older segment would have passed it.
    expect(total).toBeGreaterThan(DVR_SECONDS - 3);
    expect(listed.segments.length).toBeGreaterThan(7);
    expect(listed.segments[0]!.uri).toBe(`r0_s${listed.firstMsn}.m4s`);
    expect(listed.text).not.toContain(`r0_s${listed.firstMsn - 1}.m4s`);

    // The oldest listed segment and its init segment come from disk.
    const oldest = await get(`/hls/${streamId}/${folder}${listed.segments[0]!.uri}`);
    expect(oldest.status).toBe(200);
    expect(Buffer.from(await oldest.arrayBuffer()).includes(Buffer.from('moof'))).toBe(true);
    const map = /#EXT-X-MAP:URI="([^"]+)"/.exec(listed.text)![1]!;
    expect((await get(`/hls/${streamId}/${folder}${map}`)).status).toBe(200);

    // A delta update (hls.js asks for one on each reload) skips the old segments: the DVR costs one full load.
    const delta = await (await get(`/hls/${streamId}/${rendition}?_HLS_skip=YES`)).text();
    expect(delta).toMatch(/#EXT-X-SKIP:SKIPPED-SEGMENTS=\d+/);
    expect(delta.length).toBeLessThan(listed.text.length);
  }, 120_000);

  it('refuses bad ONAIR_DVR_MINUTES at start', async () => {
    for (const bad of ['-1', 'abc', '1441']) {
      await expect(startTestServer({ ONAIR_DVR_MINUTES: bad }), bad).rejects.toThrow(/ONAIR_DVR_MINUTES/);
    }
  });
});
