import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  checkAdvance, isSatisfied, parseDeliveryDirectives, waitForPart, waitForPlaylist, type DeliveryDirectives,
} from '../../server/llhls/blockingReload.js';
import { cacheControl, cacheKey } from '../../server/llhls/cacheRules.js';
import { answerPlaylistRequest } from '../../server/llhls/playlistResponse.js';
import { checkLlhlsPlaylist } from '../helpers/llhlsRules.js';
import { feedGops, makePackager } from './llhlsFixtures.js';

const d = (msn?: number, part?: number, skip = false): DeliveryDirectives => ({
  ...(msn !== undefined ? { msn } : {}),
  ...(part !== undefined ? { part } : {}),
  skip,
});

/** A packager with segments 0–2 complete and segment 3 open with 2 parts (ids 15, 16). */
function live() {
  const { p, enc } = makePackager();
  feedGops(p, enc, 3);
  p.pushFragment(enc.fragment(0.2, true));
  p.pushFragment(enc.fragment(0.2, false));
  return { p, enc };
}

describe('delivery directives', () => {
  it('reads _HLS_msn, _HLS_part and _HLS_skip, and refuses anything malformed', () => {
    expect(parseDeliveryDirectives({})).toEqual({ ok: true, directives: { skip: false } });
    expect(parseDeliveryDirectives({ _HLS_msn: '12', _HLS_part: '3', _HLS_skip: 'YES', token: 'x' })).toEqual({
      ok: true,
      directives: { msn: 12, part: 3, skip: true },
    });
    expect(parseDeliveryDirectives({ _HLS_skip: 'v2' })).toMatchObject({ ok: true, directives: { skip: true } });
    for (const bad of [
      { _HLS_part: '1' }, // part without msn
      { _HLS_msn: '-1' },
      { _HLS_msn: '1.5' },
      { _HLS_msn: 'x' },
      { _HLS_msn: ['1', '2'] },
      { _HLS_msn: '99999999999' },
      { _HLS_skip: 'NO' },
    ]) {
      expect(parseDeliveryDirectives(bad).ok, JSON.stringify(bad)).toBe(false);
    }
  });
});

describe('blocking playlist reload rules', () => {
  it('accepts requests up to the open segment + 1 and refuses (400) those beyond, and parts past the Advance Part Limit', () => {
    const { p } = live(); // last complete segment 2, open 3 with parts 0–1
    expect(checkAdvance(p, d(3))).toBeUndefined();
    expect(checkAdvance(p, d(4))).toBeUndefined();
    expect(checkAdvance(p, d(5))).toMatch(/more than two past/);
    expect(checkAdvance(p, d(3, 4))).toBeUndefined(); // last part 1 + 3
    expect(checkAdvance(p, d(3, 5))).toMatch(/Advance Part Limit|parts past/);
    expect(checkAdvance(p, d(4, 2))).toBeUndefined();
    expect(checkAdvance(p, d(4, 3))).toMatch(/parts past/);
    expect(checkAdvance(p, d(0, 99))).toBeUndefined(); // the past is never too far
    p.end();
    expect(checkAdvance(p, d(50))).toBeUndefined(); // ended: answered at once with what there is
  });

  it('is satisfied once the asked segment, or the asked part or any later one, exists', () => {
    const { p } = live();
    expect(isSatisfied(p, d())).toBe(true);
    expect(isSatisfied(p, d(2))).toBe(true);
    expect(isSatisfied(p, d(3))).toBe(false); // segment 3 is still open
    expect(isSatisfied(p, d(3, 1))).toBe(true);
    expect(isSatisfied(p, d(3, 2))).toBe(false);
    expect(isSatisfied(p, d(2, 7))).toBe(true); // segment 2 had 5 parts: part "7" means a later one, which exists
    expect(isSatisfied(p, d(4, 0))).toBe(false);
  });
});

describe('blocking playlist requests', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('answers when the asked part appears, with that part in the playlist', async () => {
    const { p, enc } = live();
    const got: { answer?: Awaited<ReturnType<typeof answerPlaylistRequest>> } = {};
    void answerPlaylistRequest(p, { _HLS_msn: '3', _HLS_part: '2' }).then((a) => (got.answer = a));
    await vi.advanceTimersByTimeAsync(100);
    expect(got).toEqual({});
    expect(p.listenerCount).toBe(1);
    p.pushFragment(enc.fragment(0.2, false));
    await vi.advanceTimersByTimeAsync(0);
    const answer = got.answer;
    if (!answer) throw new Error('not answered');
    expect(answer.status).toBe(200);
    expect(answer.headers['Content-Type']).toBe('application/vnd.apple.mpegurl');
    expect(answer.headers['Cache-Control']).toBe('public, max-age=3');
    const { violations, playlist } = checkLlhlsPlaylist(answer.body);
    expect(violations).toEqual([]);
    expect(playlist.segments.at(-1)).toMatchObject({ msn: 3 });
    expect(playlist.segments.at(-1)!.parts.map((x) => x.uri)).toEqual(['r0_p15.m4s', 'r0_p16.m4s', 'r0_p17.m4s']);
    expect(p.listenerCount).toBe(0);
  });

  it('answers a request for the next segment when a keyframe opens it, and closes the open one', async () => {
    const { p, enc } = live();
    const pending = answerPlaylistRequest(p, { _HLS_msn: '4', _HLS_part: '0' });
    for (let i = 0; i < 3; i++) p.pushFragment(enc.fragment(0.2, false));
    p.pushFragment(enc.fragment(0.2, true));
    const a = await pending;
    expect(a?.status).toBe(200);
    expect(a?.body).toContain('r0_s3.m4s');
    expect(a?.body).toContain('#EXT-X-PRELOAD-HINT:TYPE=PART,URI="r0_p21.m4s"');
  });

  it('a playlist asked before the rendition has any part waits for its first part, then lists it (no 404 at go-live)', async () => {
    const { p, enc } = makePackager();
    const got: { answer?: Awaited<ReturnType<typeof answerPlaylistRequest>> } = {};
    void answerPlaylistRequest(p, {}).then((a) => (got.answer = a));
    await vi.advanceTimersByTimeAsync(500);
    expect(got).toEqual({});
    p.pushFragment(enc.fragment(0.2, false)); // before the first keyframe: dropped, still no part
    await vi.advanceTimersByTimeAsync(0);
    expect(got).toEqual({});
    p.pushFragment(enc.fragment(0.2, true));
    await vi.advanceTimersByTimeAsync(0);
    const answer = got.answer;
    if (!answer) throw new Error('not answered');
    expect(answer.status).toBe(200);
    const { violations, playlist } = checkLlhlsPlaylist(answer.body);
    expect(violations).toEqual([]);
    expect(playlist.segments).toHaveLength(1);
    expect(playlist.segments[0]!.parts.map((x) => x.uri)).toEqual(['r0_p0.m4s']);
    expect(answer.body).toContain('#EXT-X-PRELOAD-HINT:TYPE=PART,URI="r0_p1.m4s"');
    expect(answer.body).not.toContain('#EXTINF');
    expect(p.listenerCount).toBe(0);
  });

  it('a rendition whose first part never comes answers 503 (no-store) after 3 target durations', async () => {
    const { p } = makePackager();
    const got: { answer?: Awaited<ReturnType<typeof answerPlaylistRequest>> } = {};
    void answerPlaylistRequest(p, {}).then((a) => (got.answer = a));
    await vi.advanceTimersByTimeAsync(2999);
    expect(got).toEqual({});
    await vi.advanceTimersByTimeAsync(1);
    expect(got.answer).toMatchObject({ status: 503, headers: { 'Cache-Control': 'no-store' } });
    expect(p.listenerCount).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('times out after 3 target durations with a 503 nobody caches', async () => {
    const { p } = live();
    const got: { answer?: Awaited<ReturnType<typeof answerPlaylistRequest>> } = {};
    void answerPlaylistRequest(p, { _HLS_msn: '4' }).then((a) => (got.answer = a));
    await vi.advanceTimersByTimeAsync(2999);
    expect(got).toEqual({});
    await vi.advanceTimersByTimeAsync(1);
    expect(got.answer).toMatchObject({ status: 503, headers: { 'Cache-Control': 'no-store' } });
    expect(p.listenerCount).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('answers 400 at once for a request too far ahead or malformed', async () => {
    const { p } = live();
    expect(await answerPlaylistRequest(p, { _HLS_msn: '5' })).toMatchObject({ status: 400, headers: { 'Cache-Control': 'no-store' } });
    expect(await answerPlaylistRequest(p, { _HLS_part: '0' })).toMatchObject({ status: 400 });
    expect(p.listenerCount).toBe(0);
  });

  it('answers a delta update for _HLS_skip, and a private stream privately with its token on every URI', async () => {
    const { p, enc } = makePackager({ windowSegments: 12 });
    feedGops(p, enc, 12);
    // 11 complete segments and the open one (1 s): segments 0–5 end ≥ 6 s (CAN-SKIP-UNTIL) before the end.
    const a = await answerPlaylistRequest(p, { _HLS_msn: '10', _HLS_skip: 'YES' }, { private: true, uriQuery: 'token=t' });
    expect(a?.status).toBe(200);
    expect(a?.body).toContain('#EXT-X-SKIP:SKIPPED-SEGMENTS=6');
    expect(a?.headers['Cache-Control']).toBe('private, max-age=3');
    expect(a?.body).toContain('URI="r0_i0.mp4?token=t"');
  });

  it('releases its subscription and timer when the client goes away', async () => {
    const { p } = live();
    const ac = new AbortController();
    const pending = answerPlaylistRequest(p, { _HLS_msn: '4' }, { signal: ac.signal });
    expect(p.listenerCount).toBe(1);
    ac.abort();
    expect(await pending).toBeUndefined();
    expect(p.listenerCount).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    expect(await waitForPlaylist(p, d(4), { signal: ac.signal })).toBe('aborted');
  });

  it('answers every waiting request at once when the broadcast ends', async () => {
    const { p } = live();
    const pending = [answerPlaylistRequest(p, { _HLS_msn: '4' }), answerPlaylistRequest(p, { _HLS_msn: '3', _HLS_part: '4' })];
    p.end();
    for (const a of await Promise.all(pending)) {
      expect(a?.status).toBe(200);
      expect(a?.body).toContain('#EXT-X-ENDLIST');
      expect(a?.headers['Cache-Control']).toBe('public, max-age=3600');
    }
  });

  it('serves the hinted part once it is written; refuses parts beyond it; says gone for parts out of the window', async () => {
    const { p, enc } = live();
    const hinted = waitForPart(p, 17);
    expect(await waitForPart(p, 18)).toEqual({ outcome: 'too-far' });
    p.pushFragment(enc.fragment(0.2, false));
    const got = await hinted;
    expect(got.outcome).toBe('ready');
    if (got.outcome === 'ready') expect(got.part).toMatchObject({ id: 17, msn: 3, index: 2 });
    p.pushFragment(enc.fragment(0.2, false));
    p.pushFragment(enc.fragment(0.2, false)); // segment 3 completes its 1 s GOP
    feedGops(p, enc, 10);
    expect(p.targetDuration).toBe(1);
    expect(await waitForPart(p, 0)).toEqual({ outcome: 'gone' });
    const late = waitForPart(p, p.nextPartId);
    await vi.advanceTimersByTimeAsync(3000);
    expect(await late).toEqual({ outcome: 'timeout' });
  });
});

describe('HTTP caching rules', () => {
  const ctx = { targetDuration: 1, private: false };
  it('makes parts, segments and inits immutable, and playlists short-lived', () => {
    for (const kind of ['part', 'segment', 'init'] as const) expect(cacheControl({ kind }, ctx)).toBe('public, max-age=31536000, immutable');
    expect(cacheControl({ kind: 'media', directives: d(), ended: false }, ctx)).toBe('public, max-age=1');
    expect(cacheControl({ kind: 'media', directives: d(4, 1), ended: false }, ctx)).toBe('public, max-age=3');
    expect(cacheControl({ kind: 'media', directives: d(4, 1), ended: false }, { targetDuration: 2, private: false })).toBe('public, max-age=6');
    expect(cacheControl({ kind: 'media', directives: d(), ended: true }, ctx)).toBe('public, max-age=3600');
    expect(cacheControl({ kind: 'master', ended: false }, ctx)).toBe('public, max-age=1');
    expect(cacheControl({ kind: 'error' }, ctx)).toBe('no-store');
    expect(cacheControl({ kind: 'part' }, { ...ctx, private: true })).toBe('private, max-age=31536000, immutable');
  });

  it('gives each _HLS_msn/_HLS_part request its own cache key, in one order', () => {
    const keys = new Set([d(), d(4), d(4, 0), d(4, 1), d(5, 0), d(4, 1, true)].map((x) => cacheKey('/hls/a/b/r0.m3u8', x)));
    expect(keys.size).toBe(6);
    expect(cacheKey('/r0.m3u8', d(4, 1, true))).toBe('/r0.m3u8?_HLS_msn=4&_HLS_part=1&_HLS_skip=YES');
    expect(cacheKey('/r0.m3u8', d())).toBe('/r0.m3u8');
  });
});
