/**
 * The HLS bridge as a broadcast output, with real mediasoup, real ffmpeg and real SQLite: media pushed through
 * `update()` (video, then audio; the publisher dropping; a republish), `close()` while media flows, `close()`
 * at every moment of an epoch's start, empty recordings, and start-up recovery. After each close the test
 * counts what is left: ffmpeg children, PlainTransports in the router's dump, ports, recording rows, folders.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HlsService } from '../../server/hls/HlsService.js';
import type { HlsBridge, HlsSettings } from '../../server/hls/HlsBridge.js';
import { PortPool } from '../../server/hls/PortPool.js';
import { MIN_RECORDING_SECONDS, readJournal, readManifest, renditionPlaylist } from '../../server/hls/sessionFiles.js';
import { writeMediaPlaylist } from '../../server/llhls/playlistWriter.js';
import { Broadcast, type PublisherLease } from '../../server/live/Broadcast.js';
import type { BroadcastMedia, BroadcastOutput } from '../../server/live/BroadcastOutput.js';
import { createLogger } from '../../server/log/logger.js';
import { WorkerPool } from '../../server/media/WorkerPool.js';
import { openCatalogue, type Catalogue } from '../../server/store/sql/catalogue.js';
import type { RecordingStore } from '../../server/store/sql/RecordingStore.js';
import { startRtpSource, type RtpSource } from '../helpers/rtpSource.js';
import { until as untilTruthy } from '../helpers/until.js';
import { catalogueSql } from '../helpers/catalogueSql.js';

const until = <T>(what: string, check: Parameters<typeof untilTruthy<T>>[1], timeoutMs = 45_000) => untilTruthy<T>(what, check, timeoutMs);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'onair-hlsbridge-'));
const root = path.join(tmp, 'hls');
const settings: HlsSettings = {
  // One small rung: the machine running the tests is shared, and ffmpeg must keep up in real time.
  ladder: [240],
  segmentSeconds: 1,
  preset: 'ultrafast',
  fps: 30,
  thumbnailEverySeconds: 30,
  inputTimeoutSeconds: 2,
  killAfterMs: 3000,
  restartDelayMs: 500,
};
const PORTS = { min: 32000, max: 32100 };

let pool: WorkerPool;
let db: Catalogue;
let recordings: RecordingStore;
let ports: PortPool;
let hls: HlsService;
let broadcast: Broadcast;
let lease: PublisherLease;
let streamId: string;
let source: RtpSource;
const logLines: string[] = [];

/**
 * ffmpeg processes of this test process that work under the HLS root (the RTP source's ffmpeg does not): the
 * ladders, and with `thumbnails` also the short runs that make thumbnails.
 */
function bridgeFfmpegs({ thumbnails = true } = {}): number[] {
  const found: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const ppid = Number(fs.readFileSync(`/proc/${e}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
      const args = fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
      const ours = ppid === process.pid && path.basename(args[0] ?? '') === 'ffmpeg' && args.some((a) => a.startsWith(root));
      if (ours && (thumbnails || args.includes('pipe:3'))) found.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return found;
}

const plainTransports = async () => (await broadcast.router.dump()).transportIds.length;
const media = (over: Partial<BroadcastMedia> = {}): BroadcastMedia => ({
  streamId,
  router: broadcast.router,
  state: 'live',
  video: source.video,
  audio: source.audio,
  videoHeight: 240,
  ...over,
});
/** Rendition 0's segments of ffmpeg run `epoch` ('e1': discontinuity 1), from the session's journal. */
const runSegments = (b: HlsBridge, epoch: string) => readJournal(b.dir, 0).filter((h) => h.discontinuitySeq === Number(epoch.slice(1)));
/** A segment as one file for ffprobe: its init segment and the segment, concatenated (ffmpeg's concat: protocol). */
const asFile = (b: HlsBridge, h: { initId: number; msn: number }) => `concat:${path.join(b.dir, `r0_i${h.initId}.mp4`)}|${path.join(b.dir, `r0_s${h.msn}.m4s`)}`;
const firstSegment = (b: HlsBridge, epoch: string) => {
  const h = runSegments(b, epoch)[0];
  return h && asFile(b, h);
};
const lastSegment = (b: HlsBridge, epoch: string) => {
  const h = runSegments(b, epoch).at(-1);
  return h && asFile(b, h);
};
const codecsOf = (file: string) =>
  (JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_streams', '-of', 'json', file], { encoding: 'utf8' })) as { streams: { codec_name: string }[] }).streams.map((s) => s.codec_name);

beforeAll(async () => {
  const logger = createLogger('info', { write: (line: string) => void logLines.push(line) });
  pool = await WorkerPool.create({ size: 1, listenIp: '127.0.0.1', announcedIp: '127.0.0.1', firstPort: 0, logger });
  db = await openCatalogue({ sqliteFile: path.join(tmp, 'onair.db') });
  recordings = db.recordings;
  const user = await db.users.create({ username: 'ann', passwordHash: 'h', role: 'broadcaster' });
  streamId = (await db.streams.create({ ownerId: user.id, title: 'Bridge', description: '', tags: [], visibility: 'public' })).id;
  ports = new PortPool(PORTS.min, PORTS.max);
  hls = new HlsService({ root, recordings, ports, settings, logger, enabled: true });
  // The broadcast only provides a router and producers here: the test drives the output itself.
  const created = await Broadcast.create(streamId, 'test-publisher', { pool, graceMs: 60_000, maxWebrtcViewers: 10, logger });
  broadcast = created.broadcast;
  lease = created.lease;
  source = await startRtpSource(lease, { width: 426, height: 240 });
}, 60_000);

afterAll(async () => {
  source?.stop();
  await hls?.close();
  await broadcast?.end('test over');
  pool?.close();
  await db?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('HLS bridge as a broadcast output (real mediasoup + ffmpeg)', () => {
  let out: BroadcastOutput;
  let bridge: HlsBridge;

  it('video first, then audio: the epoch is replaced by one with the audio, the first ffmpeg ends with its playlist', async () => {
    out = hls.output(streamId)!;
    expect(out.name).toBe('hls');
    bridge = hls.liveSession(streamId)!;
    expect(bridge).toBe(out);
    out.update(media({ audio: undefined }));
    const pid0 = await until('the first ffmpeg', () => bridge.pid);
    await until('a segment of e0', () => firstSegment(bridge, 'e0'));
    expect((await recordings.byId(bridge.sessionId))?.status).toBe('recording');

    out.update(media());
    const pid1 = await until('the second ffmpeg', () => bridge.pid !== pid0 && bridge.pid);
    expect(bridgeFfmpegs({ thumbnails: false })).toEqual([pid1]);
    expect(bridge.manifest.epochs).toEqual(['e0', 'e1']);
    // e0 was stopped with SIGINT while its video still flowed: ffmpeg flushed its last fragment, the new
    // run's init closed the segment, and it reads as whole media.
    expect(logLines.join('')).not.toContain('SIGKILL');
    const seg1 = await until('a segment of e1', () => firstSegment(bridge, 'e1'));
    expect(codecsOf(firstSegment(bridge, 'e0')!).sort()).toEqual(['h264']);
    expect(codecsOf(lastSegment(bridge, 'e0')!).sort()).toEqual(['h264']);
    expect(codecsOf(seg1).sort()).toEqual(['aac', 'h264']);
    // The source's two transports and the bridge's two (video and audio) of e1: e0's are closed.
    expect(await plainTransports()).toBe(4);
  }, 120_000);

  it('the publisher drops (no producers), then republishes: the epoch ends, a new one reads the new producers', async () => {
    const pid1 = bridge.pid!;
    source.stop();
    out.update(media({ state: 'reconnecting', video: undefined, audio: undefined }));
    // The ports come back once ffmpeg has exited and the transports are closed.
    await until('the epoch let go', () => !bridge.running && ports.available === (PORTS.max - PORTS.min) / 2);
    expect(bridgeFfmpegs({ thumbnails: false })).toEqual([]);
    expect(await plainTransports()).toBe(0);

    source = await startRtpSource(lease, { width: 426, height: 240 });
    out.update(media());
    const pid2 = await until('a new ffmpeg', () => bridge.pid);
    expect(pid2).not.toBe(pid1);
    await until('a segment of e2', () => firstSegment(bridge, 'e2'));
    expect(bridge.manifest.epochs).toEqual(['e0', 'e1', 'e2']);
    expect(await plainTransports()).toBe(4);
  }, 120_000);

  it('close while media flows: ffmpeg ends on SIGINT with #EXT-X-ENDLIST, then everything is let go; the recording is ready', async () => {
    const sessionId = bridge.sessionId;
    const before = logLines.length;
    await Promise.all([out.close('test over'), out.close('again')]);
    expect(logLines.slice(before).join('')).not.toContain('SIGKILL');
    // The live playlist ended too (players still on it see the end), its last segment complete on disk.
    expect(writeMediaPlaylist(bridge.ladder!.packagers[0]!).trim().endsWith('#EXT-X-ENDLIST')).toBe(true);
    expect(codecsOf(lastSegment(bridge, 'e2')!).sort()).toEqual(['aac', 'h264']);
    expect(bridgeFfmpegs()).toEqual([]);
    expect(bridge.pid).toBeUndefined();
    expect(await plainTransports()).toBe(2); // the source's
    expect(ports.available).toBe((PORTS.max - PORTS.min) / 2);
    const m = readManifest(bridge.dir)!;
    expect(m.ended).toBe(true);
    const vod = renditionPlaylist(bridge.dir, m, 0, {});
    expect(vod.trim().endsWith('#EXT-X-ENDLIST')).toBe(true);
    expect(vod.match(/#EXT-X-DISCONTINUITY\n/g)).toHaveLength(2);
    const rec = (await recordings.byId(sessionId))!;
    expect(rec).toMatchObject({ status: 'ready', renditions: [240] });
    expect(rec.durationSeconds).toBeGreaterThan(1);
    expect(fs.existsSync(path.join(bridge.dir, 'poster.jpg'))).toBe(true);
    await bridge.done;
    expect(hls.liveSession(streamId)).toBeUndefined();
    // Updates after the close do nothing.
    out.update(media());
    await sleep(400);
    expect(bridgeFfmpegs()).toEqual([]);
  }, 120_000);

  it('closed 0–600 ms after its first update (an epoch being started): no ffmpeg, transport, port or empty recording left', async () => {
    let spawnedThenAbandoned = 0;
    for (const delayMs of [0, 5, 20, 50, 100, 150, 200, 250, 300, 350, 450, 550, 600]) {
      const o = hls.output(streamId)!;
      const b = hls.liveSession(streamId)!;
      const before = logLines.length;
      o.update(media());
      await sleep(delayMs);
      await o.close('stopped at once');
      const lines = logLines.slice(before).join('');
      // FfmpegProcess.spawn follows this line at once (the child itself may appear a moment later).
      if (lines.includes('HLS epoch starting')) spawnedThenAbandoned++;
      expect(lines, `${delayMs} ms`).not.toContain('SIGKILL');
      expect(bridgeFfmpegs(), `${delayMs} ms`).toEqual([]);
      expect(await plainTransports(), `${delayMs} ms`).toBe(2);
      expect(ports.available, `${delayMs} ms`).toBe((PORTS.max - PORTS.min) / 2);
      const rec = await recordings.byId(b.sessionId);
      if (delayMs <= 300 || !rec) {
        // Ended before ffmpeg could write a first segment (its consumers resume once it listens; a segment
        // is 1 s of media): no recording row, no folder.
        expect(rec, `${delayMs} ms`).toBeUndefined();
        expect(fs.existsSync(b.dir), `${delayMs} ms`).toBe(false);
      } else {
        // Media flowed for a moment: ffmpeg, stopped on SIGINT, may have written a short first segment. Kept
        // only as a playable recording, never a 0 s one.
        expect(rec, `${delayMs} ms`).toMatchObject({ status: 'ready' });
        expect(rec.durationSeconds, `${delayMs} ms`).toBeGreaterThanOrEqual(MIN_RECORDING_SECONDS);
        expect(readManifest(b.dir)?.variants?.length, `${delayMs} ms`).toBe(1);
        await hls.deleteRecording(rec.id, streamId);
      }
    }
    // The path the bug was on: ffmpeg already spawned when the start was abandoned.
    expect(spawnedThenAbandoned).toBeGreaterThan(3);
    // Nor does one appear later (fluent-ffmpeg spawns asynchronously: a stop asked for before is kept).
    await sleep(1000);
    expect(bridgeFfmpegs()).toEqual([]);
    // The ports are really free again (no ffmpeg holds them).
    const taken = await Promise.all(Array.from({ length: (PORTS.max - PORTS.min) / 2 }, () => ports.take()));
    expect(taken).toHaveLength((PORTS.max - PORTS.min) / 2);
    for (const p of taken) ports.give(p);
  }, 120_000);

  it('restarts an ffmpeg that died, from the newest media', async () => {
    const o = hls.output(streamId)!;
    const b = hls.liveSession(streamId)!;
    o.update(media());
    const pid = await until('ffmpeg', () => b.pid);
    await until('a segment of e0', () => firstSegment(b, 'e0'));
    process.kill(pid, 'SIGKILL');
    const next = await until('a new ffmpeg', () => b.pid !== pid && b.pid);
    expect(bridgeFfmpegs({ thumbnails: false })).toEqual([next]);
    await until('a segment of e1', () => firstSegment(b, 'e1'));
    await o.close('test over');
    expect(bridgeFfmpegs()).toEqual([]);
    expect((await recordings.byId(b.sessionId))?.status).toBe('ready');
  }, 120_000);

  it('audio a moment after the video (a browser publishing): one ffmpeg run, with the audio from its first segment', async () => {
    const o = hls.output(streamId)!;
    const b = hls.liveSession(streamId)!;
    const before = logLines.length;
    o.update(media({ audio: undefined }));
    await sleep(200);
    expect(b.pid, 'no run on the video alone while the audio may still come').toBeUndefined();
    o.update(media());
    const first = await until('a segment of e0', () => firstSegment(b, 'e0'));
    expect(b.manifest.epochs).toEqual(['e0']);
    expect(codecsOf(first).sort()).toEqual(['aac', 'h264']);
    expect(logLines.slice(before).join('').match(/HLS epoch starting/g)).toHaveLength(1);
    await o.close('test over');
    expect(bridgeFfmpegs()).toEqual([]);
  }, 120_000);

  it('on start-up, closes a recording a crash left open as interrupted, and removes one that had no media; another node\'s stays as it is', async () => {
    const withMedia = (await recordings.listPublic({ streamId, limit: 10, offset: 0 })).recordings[0]!;
    catalogueSql({ dataDir: tmp }, (raw) => raw.prepare("UPDATE recordings SET status = 'recording' WHERE id = ?").run(withMedia.id));
    const dir = hls.sessionDir(streamId, withMedia.id);
    fs.writeFileSync(path.join(dir, 'session.json'), JSON.stringify({ ...readManifest(dir)!, ended: false }));
    await recordings.start('EMPTYsession', streamId);
    fs.mkdirSync(hls.sessionDir(streamId, 'EMPTYsession'), { recursive: true });
    // Another node, on the same database, is writing a recording now (in a cluster its files are on its disk;
    // an empty folder here would be removed if the recovery took it for this node's).
    const otherNode = await openCatalogue({ sqliteFile: path.join(tmp, 'onair.db'), nodeId: 'node-b' });
    await otherNode.recordings.start('OTHERsession', streamId);
    fs.mkdirSync(hls.sessionDir(streamId, 'OTHERsession'), { recursive: true });

    const again = new HlsService({ root, recordings, ports, settings, logger: createLogger('silent'), enabled: true });
    await again.recovered;
    expect((await recordings.byId(withMedia.id))?.status).toBe('interrupted');
    expect(readManifest(dir)?.ended).toBe(true);
    expect(await recordings.byId('EMPTYsession')).toBeUndefined();
    expect(fs.existsSync(hls.sessionDir(streamId, 'EMPTYsession'))).toBe(false);
    expect((await recordings.byId('OTHERsession'))?.status).toBe('recording');
    expect(fs.existsSync(hls.sessionDir(streamId, 'OTHERsession'))).toBe(true);
    expect((await otherNode.recordings.unfinished()).map((r) => r.id)).toEqual(['OTHERsession']);
    await otherNode.close();
    await again.close();
  });
});
