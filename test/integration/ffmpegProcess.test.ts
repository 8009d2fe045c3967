/**
 * FfmpegProcess with Debian's real ffmpeg: SIGINT honoured (outputs finished), SIGKILL after the bound when
 * ffmpeg cannot honour it, one exit whoever asks, a stop before the child exists, a failed spawn, and the RTP
 * input timeout that ends a forgotten ffmpeg by itself.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FfmpegProcess, type FfmpegCommandSpec } from '../../server/ffmpeg/FfmpegProcess.js';
import { ffmpegArgs } from '../../server/hls/ffmpegArgs.js';
import { ladderFor } from '../../server/hls/ladder.js';
import { createLogger } from '../../server/log/logger.js';
import { rtpSdp } from '../../server/hls/rtpSdp.js';
import { PortPool } from '../../server/hls/PortPool.js';
import { until } from '../helpers/until.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'onair-ffmpeg-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A logger whose lines the test reads. */
function capturedLogger() {
  const lines: string[] = [];
  return { lines, logger: createLogger('debug', { write: (line: string) => void lines.push(line) }) };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Whether a process has its own SIGINT handler yet (before, SIGINT's default action would end it). */
const catchesSigint = (pid: number) => {
  const mask = /^SigCgt:\s*([0-9a-f]+)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return mask !== undefined && (BigInt(`0x${mask}`) & 2n) !== 0n;
};

/** A test pattern, in real time, to HLS: runs until stopped. */
const liveHls = (dir: string): FfmpegCommandSpec => ({
  input: 'testsrc2=size=320x180:rate=30',
  inputOptions: ['-hide_banner', '-loglevel', 'warning', '-re', '-f', 'lavfi'],
  outputOptions: ['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '30', '-f', 'hls', '-hls_time', '1', '-hls_list_size', '0', '-hls_playlist_type', 'event'],
  output: path.join(dir, 'out.m3u8'),
});

describe('FfmpegProcess (real ffmpeg)', () => {
  it('stops on SIGINT: ffmpeg finishes its output (#EXT-X-ENDLIST), no SIGKILL, one exit for every caller', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'int-'));
    const { lines, logger } = capturedLogger();
    const p = FfmpegProcess.spawn(liveHls(dir), { name: 'test', stopTimeoutMs: 5000, logger });
    await until('a segment', () => fs.existsSync(path.join(dir, 'out.m3u8')) && fs.readFileSync(path.join(dir, 'out.m3u8'), 'utf8').includes('.ts'));
    const pid = p.pid!;
    expect(alive(pid)).toBe(true);
    expect(p.running).toBe(true);

    const first = p.stop();
    expect(p.stop()).toBe(first);
    const exit = await first;
    expect(exit).toMatchObject({ requested: true, signal: null });
    expect(await p.kill()).toBe(exit);
    expect(await p.exited).toBe(exit);
    expect(alive(pid)).toBe(false);
    expect(p.pid).toBeUndefined();
    expect(p.running).toBe(false);
    expect(fs.readFileSync(path.join(dir, 'out.m3u8'), 'utf8').trim().endsWith('#EXT-X-ENDLIST')).toBe(true);
    expect(lines.join('')).not.toContain('SIGKILL');
    expect(lines.filter((l) => l.includes('ffmpeg started'))).toHaveLength(1);
    expect(lines.join('')).toContain(`"pid":${pid}`);
  });

  it('SIGKILLs an ffmpeg that cannot honour SIGINT after the bound, and says so', async () => {
    // ffmpeg opening a FIFO nobody writes to sits in open(2), which SIGINT does not interrupt.
    const fifo = path.join(tmp, 'silent.fifo');
    execFileSync('mkfifo', [fifo]);
    const { lines, logger } = capturedLogger();
    const p = FfmpegProcess.spawn(
      { input: fifo, inputOptions: ['-hide_banner', '-loglevel', 'warning'], outputOptions: ['-f', 'null'], output: '-' },
      { name: 'stuck', stopTimeoutMs: 500, logger },
    );
    const pid = await until('the pid', () => p.pid);
    await until('ffmpeg to catch SIGINT', () => catchesSigint(pid));
    const exit = await p.stop();
    expect(exit).toMatchObject({ requested: true, signal: 'SIGKILL', code: null });
    expect(alive(pid)).toBe(false);
    const warning = lines.map((l) => JSON.parse(l) as { level: number; msg: string }).find((l) => l.msg.includes('SIGKILL'));
    expect(warning).toMatchObject({ level: 40, msg: 'ffmpeg did not stop within 500 ms: SIGKILL' });
  });

  it('stops an ffmpeg asked to stop before its child existed', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'early-'));
    const { lines, logger } = capturedLogger();
    const p = FfmpegProcess.spawn(liveHls(dir), { name: 'early', stopTimeoutMs: 5000, logger });
    expect(p.pid).toBeUndefined(); // fluent-ffmpeg spawns asynchronously
    const exit = await p.stop();
    expect(exit.requested).toBe(true);
    expect(exit.signal === 'SIGINT' || exit.code !== 0).toBe(true);
    const started = lines.map((l) => JSON.parse(l) as { msg: string; pid?: number }).find((l) => l.msg === 'ffmpeg started');
    expect(started?.pid).toBeGreaterThan(0);
    expect(alive(started!.pid!)).toBe(false);
    expect(lines.join('')).not.toContain('SIGKILL');
  });

  it('reports an ffmpeg that fails at once, with its error', async () => {
    const { logger } = capturedLogger();
    const p = FfmpegProcess.spawn(
      { input: path.join(tmp, 'does-not-exist.mp4'), inputOptions: ['-hide_banner'], outputOptions: ['-f', 'null'], output: '-' },
      { name: 'bad', stopTimeoutMs: 500, logger },
    );
    const exit = await p.exited;
    expect(exit.requested).toBe(false);
    expect(exit.code).toBe(1);
    expect(exit.error).toContain('No such file or directory');
  });

  it("ends by itself when its RTP never comes (the HLS bridge's input timeout), without being asked", async () => {
    const ports = new PortPool(31000, 31100);
    const [video, audio] = [await ports.take(), await ports.take()];
    const outDir = fs.mkdtempSync(path.join(tmp, 'silent-'));
    const sdpPath = path.join(outDir, 'input.sdp');
    fs.writeFileSync(sdpPath, rtpSdp([
      { kind: 'video', port: video, payloadType: 101, codec: 'VP8', clockRate: 90000 },
      { kind: 'audio', port: audio, payloadType: 100, codec: 'opus', clockRate: 48000, channels: 2 },
    ]));
    const args = ffmpegArgs({ sdpPath, outDir, rungs: ladderFor([240], 240), copyTop: false, hasAudio: true, segmentSeconds: 1, fps: 30, preset: 'ultrafast', inputTimeoutSeconds: 1 });
    const { logger } = capturedLogger();
    const p = FfmpegProcess.spawn({ input: sdpPath, inputOptions: args.input, outputOptions: args.output, output: args.target }, { name: 'silent', stopTimeoutMs: 500, logger });
    const pid = await until('the pid', () => p.pid);
    // Without the timeout Debian's ffmpeg 5.1 waits 20 s; with 1 s it gives up after about 2 s.
    const exit = await Promise.race([p.exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), 10_000))]);
    expect(exit).not.toBe('still running');
    expect(exit).toMatchObject({ requested: false, signal: null });
    expect(alive(pid)).toBe(false);
  });

  it('spawnPiped: two fMP4 outputs on pipes 3 and 4, read to their end before `exited`; SIGINT flushes the last fragment, no SIGKILL', async () => {
    const { lines, logger } = capturedLogger();
    const fmp4 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '30', '-f', 'mp4', '-movflags', '+frag_keyframe+empty_moov+default_base_moof', '-frag_duration', '200000', '-flush_packets', '1'];
    const p = FfmpegProcess.spawnPiped(
      { args: ['-hide_banner', '-loglevel', 'warning', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=30', '-map', '0:v', ...fmp4, 'pipe:3', '-map', '0:v', ...fmp4, 'pipe:4'], pipes: 2 },
      { name: 'piped', stopTimeoutMs: 5000, logger },
    );
    expect(p.pid).toBeGreaterThan(0); // a direct spawn: the child exists at once
    expect(p.outputs).toHaveLength(2);
    const bytes = [0, 0];
    const ended = [false, false];
    p.outputs.forEach((o, i) => {
      o.on('data', (c: Buffer) => (bytes[i]! += c.byteLength));
      o.on('end', () => (ended[i] = true));
    });
    await until('fragments on both pipes', () => bytes[0]! > 20_000 && bytes[1]! > 20_000);
    const pid = p.pid!;
    await until('ffmpeg to catch SIGINT', () => catchesSigint(pid));
    const exit = await p.stop();
    expect(exit).toMatchObject({ requested: true });
    // Both pipes were read to their end by the time `exited` resolved.
    expect(ended).toEqual([true, true]);
    expect(alive(pid)).toBe(false);
    expect(lines.join('')).not.toContain('SIGKILL');
    expect(await p.kill()).toBe(exit);
  });

  it('spawnPiped reports a program that cannot be spawned', async () => {
    const { logger } = capturedLogger();
    const p = FfmpegProcess.spawnPiped({ args: [], pipes: 1, command: path.join(tmp, 'no-such-ffmpeg') }, { name: 'missing', stopTimeoutMs: 500, logger });
    const exit = await p.exited;
    expect(exit.requested).toBe(false);
    expect(exit.error).toContain('ENOENT');
  });
});
