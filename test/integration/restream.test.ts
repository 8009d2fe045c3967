/**
 * Restream with real tools: a real OnAir (mediasoup, ffmpeg) pushes a broadcast fed by real RTP (ffmpeg test
 * pattern + tone) to Debian's nginx with libnginx-mod-rtmp, started by the test on loopback ports
 * (ONAIR_RESTREAM_ALLOW_PRIVATE=1); ffprobe reads what nginx recorded.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destinationListSchema, type RestreamStateEvent } from '../../shared/restream.js';
import { freePort, startNginxRtmp, type NginxRtmp } from '../helpers/nginxRtmp.js';
import { startH264Source } from '../helpers/h264RtpSource.js';
import { startRtpSource } from '../helpers/rtpSource.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { until } from '../helpers/until.js';
import { catalogueSql } from '../helpers/catalogueSql.js';

let s: TestServer;
let ann: string;
const nginxes: NginxRtmp[] = [];
/** The server's warnings and errors (JSON lines). */
const logLines: string[] = [];

beforeAll(async () => {
  s = await startTestServer({ ONAIR_RESTREAM_ALLOW_PRIVATE: '1', ONAIR_HLS: 'off', LOG_LEVEL: 'warn' }, undefined, { logTo: { write: (line: string) => void logLines.push(line) } });
  ann = await s.broadcaster('ann');
}, 60_000);
afterAll(async () => {
  await s?.close();
  await Promise.all(nginxes.map((n) => n.stop()));
});

const newStream = async (title: string): Promise<string> => (await s.api('POST', '/api/streams', { token: ann, body: { title } })).body.id as string;
const addDestination = async (streamId: string, url: string, streamKey: string) => {
  const r = await s.api('POST', `/api/streams/${streamId}/destinations`, { token: ann, body: { url, streamKey } });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body as { id: string; streamKeyHint: string };
};
const statusOf = async (streamId: string, id: string) => {
  const r = await s.api('GET', `/api/streams/${streamId}/destinations`, { token: ann });
  expect(r.status).toBe(200);
  return destinationListSchema.parse(r.body).destinations.find((d) => d.id === id)!.status;
};
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** What ffprobe reads in a recording: codec per stream type, duration, and any decode error. */
/**
 * Codecs and how much video a file holds. The length is counted from the video packets read (at 30 fps), not
 * taken from the FLV's header metadata, which a live publisher writes before it knows any length (runs on the
 * loaded test machine read 0.6 s there for a file holding far more).
 */
function probe(file: string): { video: string | undefined; audio: string | undefined; duration: number; errors: string } {
  const r = spawnSync('ffprobe', ['-v', 'error', '-count_packets', '-show_entries', 'stream=codec_type,codec_name,nb_read_packets', '-of', 'json', file], { encoding: 'utf8' });
  const j = JSON.parse(r.stdout) as { streams: { codec_type: string; codec_name: string; nb_read_packets?: string }[] };
  const video = j.streams.find((x) => x.codec_type === 'video');
  return {
    video: video?.codec_name,
    audio: j.streams.find((x) => x.codec_type === 'audio')?.codec_name,
    duration: Number(video?.nb_read_packets ?? 0) / 30,
    errors: r.stderr.trim(),
  };
}

/**
 * Decodes every frame of a file: a cut or corrupt FLV, or audio packets sharing a millisecond (the AAC
 * timestamps restreamArgs makes continuous), show as errors here. Timestamps pass through in the
 * file's own time base (the null muxer would otherwise round a variable frame rate onto 1/30 s ticks and
 * report its own rounding as non-monotonic).
 */
const decodeErrors = (file: string) =>
  spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-fps_mode', 'passthrough', '-enc_time_base', '-1', '-f', 'null', '-'], { encoding: 'utf8' })
    .stderr.trim();

describe('restream to a real RTMP server (nginx-rtmp)', () => {
  it('transcodes a VP8 broadcast to H.264 + AAC; a refusing destination is retried and goes live when it comes back, without disturbing the other; the end leaves complete recordings and no ffmpeg', async () => {
    const good = await startNginxRtmp(await freePort());
    nginxes.push(good);
    const latePort = await freePort();
    const streamId = await newStream('restream VP8');
    const a = await addDestination(streamId, good.url, 'vp8-show-key-0001');
    const b = await addDestination(streamId, `rtmp://127.0.0.1:${latePort}/live`, 'late-show-key-0002');
    expect(a.streamKeyHint).toBe('••••0001');

    // The owner's socket hears the states (a viewer's would not).
    const events: RestreamStateEvent[] = [];
    const sock: Socket = connect(s.url, { transports: ['websocket'], auth: { token: ann } });
    sock.on('restream:state', (e: RestreamStateEvent) => events.push(e));
    // So does the owner's studio that publishes nothing and joined no room (the stream is fed by an encoder).
    const studioEvents: RestreamStateEvent[] = [];
    const studio: Socket = connect(s.url, { transports: ['websocket'], auth: { token: ann } });
    studio.on('restream:state', (e: RestreamStateEvent) => studioEvents.push(e));
    const viewerEvents: unknown[] = [];
    const viewer: Socket = connect(s.url, { transports: ['websocket'] });
    viewer.on('restream:state', (e: unknown) => viewerEvents.push(e));

    const { lease } = await s.broadcasts.start(streamId, 'test-publisher');
    const src = await startRtpSource(lease, { width: 640, height: 360 });
    try {
      // The owner watching its own stream (as the studio's preview does) is in the stream's room.
      const joined = (await sock.timeout(5000).emitWithAck('viewer:join', { streamId })) as { ok: boolean };
      expect(joined.ok).toBe(true);
      expect(((await viewer.timeout(5000).emitWithAck('viewer:join', { streamId })) as { ok: boolean }).ok).toBe(true);
      await until('destination A live', async () => (await statusOf(streamId, a.id)).state === 'live', 30_000);
      const failing = await until('destination B failing', async () => {
        const st = await statusOf(streamId, b.id);
        return st.state === 'retrying' && st;
      }, 30_000);
      expect(failing.reason).toMatch(/refused|Connection|Error/i);
      // ffmpeg quotes the URL with the key: the reason shows it redacted.
      expect(failing.reason).toContain('/live/<key>');
      expect(failing.reason).not.toContain('late-show-key');
      expect((await statusOf(streamId, a.id)).state).toBe('live');

      // B's server comes back: the next attempt goes live.
      const late = await startNginxRtmp(latePort);
      nginxes.push(late);
      const live = await until('destination B live', async () => {
        const st = await statusOf(streamId, b.id);
        return st.state === 'live' && st;
      }, 60_000);
      expect(live.video).toBe('transcode');
      expect(live.failures).toBeGreaterThanOrEqual(1);
      // Measured in what the file holds (its size depends on the encoder's bitrate: 300 kB was under a second once).
      const lateFile = path.join(late.recordings, 'late-show-key-0002.flv');
      await until('a few seconds recorded by B', () => fs.existsSync(lateFile) && probe(lateFile).duration > 2, 30_000);
      expect(events.some((e) => e.destinationId === b.id && e.status.state === 'retrying')).toBe(true);
      expect(events.some((e) => e.destinationId === b.id && e.status.state === 'live')).toBe(true);
      expect(studioEvents.some((e) => e.destinationId === b.id && e.status.state === 'live')).toBe(true);
      // A viewer in the same room hears nothing of the destinations.
      expect(viewerEvents).toEqual([]);

      const pids = s.restream.pids();
      expect(pids).toHaveLength(2);
      await s.broadcasts.endBroadcast(streamId, 'test over');
      expect(s.restream.pids()).toEqual([]);
      for (const pid of pids) expect(alive(pid)).toBe(false);
    } finally {
      sock.close();
      studio.close();
      viewer.close();
      src.stop();
    }
    for (const [n, key] of [[good, 'vp8-show-key-0001'], [nginxes[1]!, 'late-show-key-0002']] as const) {
      const file = path.join(n.recordings, `${key}.flv`);
      const p = probe(file);
      expect(p).toMatchObject({ video: 'h264', audio: 'aac', errors: '' });
      expect(p.duration, `${file}: ${JSON.stringify(p)} ${fs.statSync(file).size} bytes`).toBeGreaterThan(1);
      expect(decodeErrors(file)).toBe('');
    }
    expect((await statusOf(streamId, a.id)).state).toBe('idle');
  }, 180_000);

  it('copies an H.264 broadcast (no re-encode) and encodes its Opus to AAC', async () => {
    const n = await startNginxRtmp(await freePort());
    nginxes.push(n);
    const streamId = await newStream('restream H264');
    const d = await addDestination(streamId, n.url, 'h264-show-key-0003');
    const { lease } = await s.broadcasts.start(streamId, 'test-publisher');
    const src = await startH264Source(lease);
    const file = path.join(n.recordings, 'h264-show-key-0003.flv');
    try {
      const st = await until('live', async () => {
        const x = await statusOf(streamId, d.id);
        return x.state === 'live' && x;
      }, 30_000);
      expect(st.video).toBe('copy');
      await until('a few seconds recorded', () => fs.existsSync(file) && fs.statSync(file).size > 200_000, 30_000);
      await s.broadcasts.endBroadcast(streamId, 'test over');
    } finally {
      src.stop();
    }
    const p = probe(file);
    expect(p).toMatchObject({ video: 'h264', audio: 'aac', errors: '' });
    expect(decodeErrors(file)).toBe('');
    expect(s.restream.pids()).toEqual([]);
  }, 120_000);
});

describe('destinations changed while live', () => {
  it('a destination added while live starts at once; removed while live, its ffmpeg stops cleanly and the others go on', async () => {
    const n = await startNginxRtmp(await freePort());
    nginxes.push(n);
    const streamId = await newStream('restream add/remove live');
    const first = await addDestination(streamId, n.url, 'first-key-0004');
    const { lease } = await s.broadcasts.start(streamId, 'test-publisher');
    const src = await startRtpSource(lease, { width: 640, height: 360 });
    try {
      await until('first live', async () => (await statusOf(streamId, first.id)).state === 'live', 30_000);
      const second = await addDestination(streamId, n.url, 'second-key-0005');
      await until('second live', async () => (await statusOf(streamId, second.id)).state === 'live', 30_000);
      const secondFile = path.join(n.recordings, 'second-key-0005.flv');
      await until('second recorded', () => fs.existsSync(secondFile) && fs.statSync(secondFile).size > 200_000, 30_000);
      const before = s.restream.pids();
      expect(before).toHaveLength(2);
      expect((await s.api('DELETE', `/api/streams/${streamId}/destinations/${second.id}`, { token: ann })).status).toBe(204);
      const after = s.restream.pids();
      expect(after).toHaveLength(1);
      for (const pid of before.filter((p) => !after.includes(p))) expect(alive(pid)).toBe(false);
      // Stopped with SIGINT while media flowed: a clean FLV.
      expect(decodeErrors(secondFile)).toBe('');
      expect((await statusOf(streamId, first.id)).state).toBe('live');
      await s.broadcasts.endBroadcast(streamId, 'test over');
    } finally {
      src.stop();
    }
    expect(s.restream.pids()).toEqual([]);
    expect(decodeErrors(path.join(n.recordings, 'first-key-0004.flv'))).toBe('');
  }, 120_000);

  it('no ffmpeg of a restream was ever SIGKILLed (every stop was a clean SIGINT)', () => {
    expect(logLines.filter((l) => /SIGKILL/.test(l))).toEqual([]);
  });
});

describe('destinations API', () => {
  it('refuses other schemes, credentials, OnAir itself, other users; never returns the key; deletes', async () => {
    const streamId = await newStream('api');
    const post = (body: unknown, token = ann) => s.api('POST', `/api/streams/${streamId}/destinations`, { token, body });
    for (const url of ['http://example.com/live', 'srt://example.com:9000', 'file:///etc/passwd', 'rtmp://user:pw@example.com/live', 'rtmp://example.com/live?x=1', 'not a url']) {
      const r = await post({ url, streamKey: 'abc' });
      expect(r.status, url).toBe(400);
    }
    expect((await post({ url: 'rtmp://example.com/live', streamKey: 'has space' })).status).toBe(400);
    expect((await post({ url: 'rtmp://example.com/live', streamKey: 'k', extra: 1 })).status).toBe(400);
    // OnAir's own RTMP ingest, by address and by the name the request used.
    const own = await post({ url: `rtmp://127.0.0.1:${s.ingest.rtmpPort}/live`, streamKey: 'loop' });
    expect(own.status).toBe(400);
    expect(own.body.message).toMatch(/OnAir/);
    expect((await post({ url: 'rtmp://no-such-host.invalid/live', streamKey: 'k' })).status).toBe(400);

    const ok = await post({ url: 'rtmp://127.0.0.1:1/live/', streamKey: 'secret-key-abcdefgh', name: 'Twitch' });
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({ name: 'Twitch', url: 'rtmp://127.0.0.1:1/live', streamKeyHint: '••••efgh', enabled: true, status: { state: 'idle' } });
    const list = await s.api('GET', `/api/streams/${streamId}/destinations`, { token: ann });
    expect(JSON.stringify(list.body)).not.toContain('secret-key-abcdefgh');
    // Not in the database in clear either.
    const row = catalogueSql(s, (db) => db.prepare('SELECT * FROM restream_destinations WHERE id = ?').get(ok.body.id));
    expect(JSON.stringify(row)).not.toContain('secret-key-abcdefgh');

    const bob = await s.broadcaster('bob');
    expect((await post({ url: 'rtmp://127.0.0.1:1/live', streamKey: 'k' }, bob)).status).toBe(403);
    expect((await s.api('GET', `/api/streams/${streamId}/destinations`, { token: bob })).status).toBe(403);
    expect((await s.api('GET', `/api/streams/${streamId}/destinations`)).status).toBe(401);
    expect((await s.api('DELETE', `/api/streams/${streamId}/destinations/${ok.body.id}`, { token: bob })).status).toBe(403);
    const admin = await s.login();
    expect((await s.api('GET', `/api/streams/${streamId}/destinations`, { token: admin })).body.destinations).toHaveLength(1);
    expect((await s.api('DELETE', `/api/streams/${streamId}/destinations/${ok.body.id}`, { token: ann })).status).toBe(204);
    expect((await s.api('DELETE', `/api/streams/${streamId}/destinations/${ok.body.id}`, { token: ann })).status).toBe(404);
    expect((await s.api('GET', `/api/streams/${streamId}/destinations`, { token: ann })).body.destinations).toEqual([]);
  }, 60_000);

  it('answers junk bodies and URLs with 400, never 500, and stays up (fuzz)', async () => {
    const streamId = await newStream('fuzz');
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const junkString = (n: number) => String.fromCharCode(...Array.from({ length: n }, () => Math.floor(rnd() * 0x2fff)));
    const schemes = ['rtmp', 'rtmps', 'rtmpt', 'http', 'file', 'gopher', 'srt', 'RTMP', ''];
    const bodies: unknown[] = [null, [], 'x', 42, { url: null }, { url: 'rtmp://[::1', streamKey: 'k' }, { url: 'rtmp://%00/live', streamKey: 'k' }, { url: `rtmp://${'a'.repeat(300)}.com/${'b'.repeat(300)}`, streamKey: 'k' }];
    for (let i = 0; i < 150; i++) {
      bodies.push({ url: `${schemes[i % schemes.length]}://${junkString(1 + (i % 30))}/${junkString(i % 10)}`, streamKey: i % 3 ? 'k' : junkString(5) });
    }
    for (const body of bodies) {
      const r = await s.api('POST', `/api/streams/${streamId}/destinations`, { token: ann, body: JSON.stringify(body) });
      expect(r.status, JSON.stringify(body)).toBe(400);
    }
    expect((await s.api('GET', `/api/streams/${streamId}/destinations`, { token: ann })).body.destinations).toEqual([]);
  }, 60_000);
});
