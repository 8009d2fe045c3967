import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killOrphanFfmpeg } from '../../server/hls/orphanFfmpeg.js';
import { startRtpSource, type RtpSource } from '../helpers/rtpSource.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { until as untilTruthy } from '../helpers/until.js';
import { catalogueSql } from '../helpers/catalogueSql.js';

let s: TestServer;
let ann: string;
let streamId: string;
let source: RtpSource;
let sessionId: string;
/** The server's warnings and errors (JSON lines). */
const serverLog: string[] = [];

/** Media takes a few seconds to flow through ffmpeg (more on a busy machine): wait up to 30 s unless told otherwise; the tests that wait for media more than once get 90 s. */
const until = <T>(what: string, check: Parameters<typeof untilTruthy<T>>[1], timeoutMs = 30_000) => untilTruthy<T>(what, check, timeoutMs);
const get = (p: string, headers: Record<string, string> = {}) => fetch(s.url + p, { headers });
const segmentsOf = (playlist: string) => playlist.split('\n').filter((l) => l && !l.startsWith('#'));
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

beforeAll(async () => {
  s = await startTestServer({ ONAIR_HLS_LADDER: '480,360,240', ONAIR_HLS_PRESET: 'superfast', LOG_LEVEL: 'warn' }, undefined, {
    logTo: { write: (line: string) => void serverLog.push(line) },
  });
  ann = await s.broadcaster('ann');
  streamId = (await s.api('POST', '/api/streams', { token: ann, body: { title: 'HLS test', tags: ['hls'] } })).body.id;
  const { lease } = await s.broadcasts.start(streamId, 'test-publisher');
  source = await startRtpSource(lease, { width: 854, height: 480 });
  sessionId = await until('the HLS session', () => s.hls.liveSession(streamId)?.manifest.sessionId);
}, 60_000);
afterAll(async () => {
  source?.stop();
  await s?.close();
});

describe('HLS bridge (real ffmpeg)', () => {
  it('serves a master playlist listing the ladder, never above the source', async () => {
    const master = await until('the master playlist', async () => {
      const r = await get(`/hls/${streamId}/master.m3u8`);
      return r.status === 200 ? r : undefined;
    });
    expect(master.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    expect(master.headers.get('cache-control')).toBe('public, max-age=1');
    expect(master.headers.get('access-control-allow-origin')).toBe('*');
    const text = await master.text();
    const variants = text.split('\n').filter((l) => l.startsWith('#EXT-X-STREAM-INF'));
    expect(variants).toHaveLength(3);
    expect(text).toMatch(/RESOLUTION=\d+x480/);
    expect(text).toMatch(/RESOLUTION=\d+x360/);
    expect(text).toMatch(/RESOLUTION=\d+x240/);
    expect(segmentsOf(text)).toEqual([`${sessionId}/r0.m3u8`, `${sessionId}/r1.m3u8`, `${sessionId}/r2.m3u8`]);
  }, 90_000);

  it('writes full segments (fMP4: init + segment) that ffprobe reads as H.264 main + AAC, at each rendition\'s height', async () => {
    for (const [i, height] of [480, 360, 240].entries()) {
      const playlist = await until(`rendition ${i} with 2 segments`, async () => {
        const t = await (await get(`/hls/${streamId}/${sessionId}/r${i}.m3u8`)).text();
        return segmentsOf(t).length >= 2 ? t : undefined;
      });
      const seg = segmentsOf(playlist)[0]!;
      expect(seg).toMatch(new RegExp(`^r${i}_s\\d+\\.m4s$`));
      const init = /#EXT-X-MAP:URI="([^"]+)"/.exec(playlist)![1]!;
      const res = await get(`/hls/${streamId}/${sessionId}/${seg}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('video/mp4');
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(res.headers.get('etag')).toBeTruthy();
      expect(res.headers.get('last-modified')).toBeTruthy();
      const initRes = await get(`/hls/${streamId}/${sessionId}/${init}`);
      expect(initRes.status).toBe(200);
      expect(initRes.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      const file = path.join(s.dataDir, 'segment.mp4');
      fs.writeFileSync(file, Buffer.concat([Buffer.from(await initRes.arrayBuffer()), Buffer.from(await res.arrayBuffer())]));
      const probe = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_streams', '-of', 'json', file], { encoding: 'utf8' })) as {
        streams: { codec_name: string; profile?: string; height?: number }[];
      };
      const v = probe.streams.find((x) => x.codec_name === 'h264');
      expect(v, `rendition ${i}`).toBeDefined();
      expect(v!.profile).toBe('Main');
      expect(v!.height).toBe(height);
      expect(probe.streams.some((x) => x.codec_name === 'aac')).toBe(true);
    }
  }, 90_000);

  it('serves a live thumbnail from the start of the broadcast', async () => {
    const thumb = await until('the live thumbnail', async () => {
      const r = await get(`/hls/${streamId}/thumb.jpg`);
      return r.status === 200 ? r : undefined;
    }, 15_000);
    expect(thumb.headers.get('content-type')).toBe('image/jpeg');
    expect((await thumb.arrayBuffer()).byteLength).toBeGreaterThan(1000);
  });

  it('answers conditional requests with 304', async () => {
    const r = await get(`/hls/${streamId}/${sessionId}/r0.m3u8`);
    const etag = r.headers.get('etag')!;
    const body = await r.text();
    const again = await get(`/hls/${streamId}/${sessionId}/r0.m3u8`, { 'if-none-match': etag });
    // The live playlist may have grown in between; an unchanged one is 304.
    expect([200, 304]).toContain(again.status);
    if (again.status === 200) expect(await again.text()).not.toBe(body);
  });

  it('serves LL-HLS: blocking reload, parts, the preload hint, rendition reports, 400 too far ahead, cache rules', async () => {
    const url = `/hls/${streamId}/${sessionId}/r1.m3u8`;
    let text = '';
    let hint: RegExpExecArray | null = null;
    let lastMsn = 0;
    // A part or segment later than 3 target durations is a 503 (no-store), as the spec says: on this shared
    // machine ffmpeg may fall behind, so the test asks again, as a player would.
    for (let attempt = 0; ; attempt++) {
      const plain = await get(url);
      expect(plain.headers.get('cache-control')).toBe('public, max-age=1');
      text = await plain.text();
      hint = /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="(r1_p(\d+)\.m4s)"/.exec(text);
      expect(hint).toBeTruthy();
      lastMsn = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)![1]) + segmentsOf(text).length;
      // The hinted part, asked before it exists, comes once written; so does the playlist that waits for it.
      const [part, blocked] = await Promise.all([get(`/hls/${streamId}/${sessionId}/${hint![1]}`), get(`${url}?_HLS_msn=${lastMsn}`)]);
      for (const r of [part, blocked]) if (r.status === 503) expect(r.headers.get('cache-control')).toBe('no-store');
      if ((part.status === 503 || blocked.status === 503) && attempt < 10) continue;
      expect(part.status).toBe(200);
      expect(part.headers.get('content-type')).toBe('video/mp4');
      expect(part.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect((await part.arrayBuffer()).byteLength).toBeGreaterThan(100);
      expect(blocked.status).toBe(200);
      expect(blocked.headers.get('cache-control')).toBe('public, max-age=3');
      expect(await blocked.text()).toContain(`r1_s${lastMsn}.m4s`);
      break;
    }
    expect(text).toContain('#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES');
    expect(text).toMatch(/#EXT-X-PART-INF:PART-TARGET=0\.2\d\d/);
    expect(text).toMatch(/#EXT-X-RENDITION-REPORT:URI="r0\.m3u8",LAST-MSN=\d+,LAST-PART=\d+/);
    expect(text).toMatch(/#EXT-X-RENDITION-REPORT:URI="r2\.m3u8"/);
    const tooFar = await get(`${url}?_HLS_msn=${lastMsn + 50}`);
    expect(tooFar.status).toBe(400);
    expect(tooFar.headers.get('cache-control')).toBe('no-store');
    expect((await get(`${url}?_HLS_part=1`)).status).toBe(400);
    expect((await get(`/hls/${streamId}/${sessionId}/r1_p${Number(hint![2]) + 100}.m4s`)).status).toBe(400);
    const delta = await (await get(`${url}?_HLS_msn=${lastMsn}&_HLS_skip=YES`)).text();
    expect(delta).toContain('#EXT-X-VERSION:9');
  }, 90_000);

  it('never serves anything outside the HLS folder', async () => {
    fs.writeFileSync(path.join(s.dataDir, 'hls', 'secret.txt'), 'TOP-SECRET-CONTENT');
    const jwtSecret = fs.readFileSync(path.join(s.dataDir, 'jwt-secret'), 'utf8').trim();
    const attempts = [
      `/hls/${streamId}/../../jwt-secret`,
      `/hls/${streamId}/%2e%2e/%2e%2e/jwt-secret`,
      `/hls/${streamId}/%252e%252e/%252e%252e/jwt-secret`,
      `/hls/${streamId}/${sessionId}/..%2f..%2fsecret.txt`,
      `/hls/${streamId}/${sessionId}/e0/..%2f..%2f..%2fonair.db`,
      `/hls/${streamId}/${sessionId}/session.json`,
      `/hls/${streamId}/${sessionId}/e0/input.sdp`,
      `/hls/..%2fsecret.txt`,
      `/hls/%2fetc%2fpasswd`,
      `/hls//etc/passwd`,
      `/hls/${streamId}/${sessionId}/e0/r0_00000.ts%00.m3u8`,
      `/hls/${streamId}/${sessionId}/r0.jsonl`,
      `/hls/${streamId}/${sessionId}/r0_s0.m4s%00.m3u8`,
    ];
    for (const p of attempts) {
      const r = await get(p);
      const text = await r.text();
      expect(r.status, p).toBe(404);
      expect(text, p).not.toContain('TOP-SECRET-CONTENT');
      expect(text, p).not.toContain(jwtSecret);
      expect(text, p).not.toContain('SQLite format');
      expect(text, p).not.toContain('m=video');
    }
  });

  it('restarts ffmpeg that died, and the playlist goes on after a discontinuity', async () => {
    const bridge = s.hls.liveSession(streamId)!;
    const pid = bridge.pid!;
    const before = segmentsOf(await (await get(`/hls/${streamId}/${sessionId}/r0.m3u8`)).text()).length;
    process.kill(pid, 'SIGKILL');
    await until('a new ffmpeg', () => bridge.pid !== undefined && bridge.pid !== pid);
    // The new run's init segment opens a discontinuity with its own EXT-X-MAP; numbering goes on.
    const after = await until('new segments after the restart', async () => {
      const t = await (await get(`/hls/${streamId}/${sessionId}/r0.m3u8`)).text();
      return t.includes('r0_i1.mp4') && /#EXT-X-MAP:URI="r0_i1\.mp4"\n#EXT-X-PROGRAM-DATE-TIME:[^\n]+\n(#EXT-X-PART:[^\n]+\n)*#EXTINF/.test(t) ? t : undefined;
    });
    expect(after).toContain('#EXT-X-DISCONTINUITY');
    expect(before).toBeGreaterThan(0);
  }, 90_000);

  it('keeps private streams to viewer-token holders, carrying the token into the playlists', async () => {
    await s.api('PATCH', `/api/streams/${streamId}`, { token: ann, body: { visibility: 'private' } });
    try {
      expect((await get(`/hls/${streamId}/master.m3u8`)).status).toBe(403);
      expect((await get(`/hls/${streamId}/${sessionId}/r0.m3u8`)).status).toBe(403);
      const token = (await s.api('POST', `/api/streams/${streamId}/viewer-token`, { token: ann })).body.token as string;
      const q = `?token=${encodeURIComponent(token)}`;
      const master = await get(`/hls/${streamId}/master.m3u8${q}`);
      expect(master.status).toBe(200);
      expect(master.headers.get('cache-control')).toBe('private, max-age=1');
      expect(await master.text()).toContain(`r0.m3u8${q}`);
      const playlist = await (await get(`/hls/${streamId}/${sessionId}/r0.m3u8${q}`)).text();
      const seg = segmentsOf(playlist)[0]!;
      expect(seg.endsWith(q)).toBe(true);
      expect((await get(`/hls/${streamId}/${sessionId}/${seg}`)).status).toBe(200);
    } finally {
      await s.api('PATCH', `/api/streams/${streamId}`, { token: ann, body: { visibility: 'public' } });
    }
  });

  it('ends cleanly: no ffmpeg left, the recording is complete with ENDLIST, listed with its metadata', async () => {
    const pid = s.hls.liveSession(streamId)!.pid!;
    const logged = serverLog.length;
    await s.broadcasts.endBroadcast(streamId, 'test over');
    await until('the recording', async () => {
      const r = await s.api('GET', `/api/recordings/${sessionId}`);
      return r.body?.status === 'ready' ? r : undefined;
    });
    expect(alive(pid)).toBe(false);
    expect(s.hls.pids()).toEqual([]);
    // The broadcast closed its HLS output while media still flowed: ffmpeg ended on SIGINT.
    expect(serverLog.slice(logged).join('')).not.toContain('did not stop within');
    const rec = (await s.api('GET', `/api/recordings/${sessionId}`)).body;
    expect(rec).toMatchObject({ id: sessionId, streamId, title: 'HLS test', tags: ['hls'], renditions: [480, 360, 240], status: 'ready' });
    expect(rec.durationSeconds).toBeGreaterThan(2);
    expect(rec.sizeBytes).toBeGreaterThan(10_000);
    expect(rec.urls.hls).toBe(`${s.url}/hls/${streamId}/${sessionId}/master.m3u8`);

    const playlist = await (await get(`/hls/${streamId}/${sessionId}/r0.m3u8`)).text();
    expect(playlist).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
    expect(playlist.trim().endsWith('#EXT-X-ENDLIST')).toBe(true);
    expect(playlist).toContain('#EXT-X-MEDIA-SEQUENCE:0');
    expect(playlist).not.toContain('#EXT-X-PART');
    expect(segmentsOf(playlist)[0]).toBe('r0_s0.m4s');
    expect((await get(`/hls/${streamId}/${sessionId}/poster.jpg`)).headers.get('content-type')).toBe('image/jpeg');
    expect((await get(`/hls/${streamId}/master.m3u8`)).status).toBe(404);

    const list = await s.api('GET', '/api/recordings?tag=hls');
    expect(list.body.recordings.map((r: { id: string }) => r.id)).toContain(sessionId);
  });

  it('deletes a recording and its files (owner or admin only)', async () => {
    const bob = await s.broadcaster('bob');
    expect((await s.api('DELETE', `/api/recordings/${sessionId}`, { token: bob })).status).toBe(403);
    expect((await s.api('DELETE', `/api/recordings/${sessionId}`, { token: ann })).status).toBe(204);
    expect(fs.existsSync(path.join(s.dataDir, 'hls', streamId, sessionId))).toBe(false);
    expect((await s.api('GET', `/api/recordings/${sessionId}`)).status).toBe(404);
    expect((await get(`/hls/${streamId}/${sessionId}/r0.m3u8`)).status).toBe(404);
  });
});

describe('a broadcast ended before its first segment', () => {
  it('leaves no recording (no row, no folder) and no ffmpeg', async () => {
    const st = (await s.api('POST', '/api/streams', { token: ann, body: { title: 'Too short' } })).body.id as string;
    const { lease } = await s.broadcasts.start(st, 'test-publisher');
    const src = await startRtpSource(lease, { width: 640, height: 360 });
    try {
      await new Promise((r) => setTimeout(r, 150));
      await s.broadcasts.endBroadcast(st, 'stopped at once');
    } finally {
      src.stop();
    }
    expect(s.hls.pids()).toEqual([]);
    expect(s.hls.liveSession(st)).toBeUndefined();
    expect(catalogueSql(s, (db) => db.prepare('SELECT COUNT(*) AS n FROM recordings WHERE stream_id = ?').get(st))).toEqual({ n: 0 });
    expect((await s.api('GET', `/api/recordings?streamId=${st}`)).body.total).toBe(0);
    expect(fs.readdirSync(path.join(s.dataDir, 'hls', st), { withFileTypes: true }).filter((d) => d.isDirectory())).toEqual([]);
  });
});

describe('after a crash', () => {
  it('kills ffmpeg processes a previous run left under this HLS folder, and only those', async () => {
    const root = path.join(s.dataDir, 'hls');
    const spawnFfmpeg = (out: string) =>
      spawn('ffmpeg', ['-nostdin', '-loglevel', 'quiet', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=5', '-f', 'null', out], { stdio: 'ignore' });
    const orphan = spawnFfmpeg(path.join(root, 'AAAAAAAAAAAA', 'BBBBBBBBBBBB', 'e0', 'out'));
    const stranger = spawnFfmpeg(path.join(os.tmpdir(), 'not-onair'));
    try {
      await until('both to run', () => alive(orphan.pid!) && alive(stranger.pid!));
      await new Promise((r) => setTimeout(r, 300));
      expect(killOrphanFfmpeg(root)).toEqual([orphan.pid]);
      await until('the orphan to die', () => orphan.exitCode !== null || orphan.signalCode !== null, 5000);
      expect(alive(stranger.pid!)).toBe(true);
    } finally {
      orphan.kill('SIGKILL');
      stranger.kill('SIGKILL');
    }
  });

  it('closes a recording a crash left open as interrupted, with ENDLIST', async () => {
    const st = (await s.api('POST', '/api/streams', { token: ann, body: { title: 'Crash test' } })).body.id as string;
    const { lease } = await s.broadcasts.start(st, 'test-publisher');
    const src = await startRtpSource(lease, { width: 640, height: 360 });
    let rec: { id: string };
    try {
      const bridge = await until('the HLS session', () => s.hls.liveSession(st));
      // A full segment (r0_s<n>.m4s): the live playlist lists parts (r0_p<n>.m4s) before that.
      await until('segments', async () => /_s\d+\.m4s/.test(await (await get(`/hls/${st}/${bridge.manifest.sessionId}/r0.m3u8`)).text()));
      await s.broadcasts.endBroadcast(st, 'test over');
      rec = await until('the recording', async () => (await s.api('GET', `/api/recordings?streamId=${st}`)).body.recordings[0]);
    } finally {
      src.stop();
    }
    // Put the session back the way a crash leaves it: row "recording", manifest not ended, stream "live" on
    // this node (one machine: 'local'), which wrote the recording.
    catalogueSql(s, (db) => {
      db.prepare("UPDATE recordings SET status = 'recording' WHERE id = ? AND node = 'local'").run(rec.id);
      db.prepare("UPDATE streams SET status = 'live', live_node = 'local' WHERE id = ?").run(st);
    });
    const manifestFile = path.join(s.dataDir, 'hls', st, rec.id, 'session.json');
    fs.writeFileSync(manifestFile, JSON.stringify({ ...JSON.parse(fs.readFileSync(manifestFile, 'utf8')), ended: false }));
    const dataDir = s.dataDir;
    await s.close();
    s = await startTestServer({ ONAIR_HLS_LADDER: '480,360,240', ONAIR_HLS_PRESET: 'superfast' }, dataDir);
    expect((await s.api('GET', `/api/recordings/${rec.id}`)).body.status).toBe('interrupted');
    expect((await s.api('GET', `/api/streams/${st}`)).body.status).toBe('ended');
    const playlist = await (await get(`/hls/${st}/${rec.id}/r0.m3u8`)).text();
    expect(playlist.trim().endsWith('#EXT-X-ENDLIST')).toBe(true);
  }, 90_000);
});
