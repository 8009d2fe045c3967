/**
 * The LL-HLS packager on Debian's real ffmpeg: a test pattern encoded to fragmented MP4 on a pipe, read in
 * random chunk sizes, packaged into parts and segments, held to the spec's playlist rules, and each full
 * segment (init + segment) read back by ffprobe. Also the ladder's own arguments (ffmpegFmp4Args) with two
 * rungs on pipes 3 and 4, and an ffmpeg restart (a second run into the same packager).
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { ladderFor } from '../../server/hls/ladder.js';
import { CmafReader } from '../../server/llhls/CmafReader.js';
import { ffmpegFmp4Args, ffmpegFmp4Stdio } from '../../server/llhls/ffmpegFmp4Args.js';
import { RenditionPackager } from '../../server/llhls/RenditionPackager.js';
import { renditionReportOf, writeMediaPlaylist } from '../../server/llhls/playlistWriter.js';
import { checkLlhlsPlaylist } from '../helpers/llhlsRules.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'onair-llhls-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The brief's test pattern: 640x360 at 30 fps, a keyframe every 30 frames, 200 ms fragments, to stdout. */
const PATTERN_ARGS = [
  '-hide_banner', '-loglevel', 'error', '-nostats',
  '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30', '-t', '4',
  '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'main', '-pix_fmt', 'yuv420p',
  '-g', '30', '-keyint_min', '30', '-sc_threshold', '0', '-bf', '0',
  '-f', 'mp4', '-movflags', '+frag_keyframe+empty_moov+default_base_moof', '-frag_duration', '200000', 'pipe:1',
];

/** Feeds a stream into a reader and packager in random chunk sizes (re-sliced, so no pipe chunking leaks in). */
function pump(stream: Readable, packager: RenditionPackager, seed: number): Promise<{ chunks: number }> {
  const reader = new CmafReader();
  let s = seed;
  let chunks = 0;
  const random = (max: number) => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return 1 + (s % max);
  };
  return new Promise((resolve, reject) => {
    stream.on('data', (data: Buffer) => {
      try {
        for (let at = 0; at < data.byteLength; ) {
          const n = random(20_000);
          for (const event of reader.push(data.subarray(at, at + n))) packager.push(event);
          at += n;
          chunks += 1;
        }
      } catch (error) {
        reject(error);
      }
    });
    stream.on('end', () => {
      try {
        reader.end();
        resolve({ chunks });
      } catch (error) {
        reject(error);
      }
    });
    stream.on('error', reject);
  });
}

function run(args: string[], stdio: Array<'ignore' | 'pipe'>) {
  const child = spawn('ffmpeg', args, { stdio });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return { child, exited, stderr: () => stderr };
}

interface Probe {
  codec: string;
  width: number;
  height: number;
  frames: Array<{ key: boolean; type: string }>;
}

/** ffprobe's reading of init + one segment, written as one file. */
function probe(file: string, init: Uint8Array, segment: Uint8Array): Probe {
  fs.writeFileSync(file, Buffer.concat([init, segment]));
  const out = JSON.parse(
    execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height:frame=key_frame,pict_type', '-of', 'json', file], {
      encoding: 'utf8',
    }),
  ) as { streams: Array<{ codec_name: string; width: number; height: number }>; frames: Array<{ key_frame: number; pict_type: string }> };
  const stream = out.streams[0]!;
  return { codec: stream.codec_name, width: stream.width, height: stream.height, frames: out.frames.map((f) => ({ key: f.key_frame === 1, type: f.pict_type })) };
}

const round = (x: number) => Math.round(x * 10_000) / 10_000;

describe('LL-HLS packager on real ffmpeg output', () => {
  it('cuts ~200 ms parts and ~1 s keyframe-aligned segments that ffprobe reads, across an ffmpeg restart', async () => {
    const packager = new RenditionPackager({ name: 'r0', windowSegments: 20, keepHistory: true });
    const segments: Array<{ msn: number; initId: number; bytes: Uint8Array; frames: number }> = [];
    packager.subscribe((e) => {
      if (e.type === 'segment') segments.push({ msn: e.segment.msn, initId: e.segment.initId, bytes: e.bytes, frames: Math.round(e.segment.duration * 30) });
    });
    for (const seed of [7, 11]) {
      const ff = run(PATTERN_ARGS, ['ignore', 'pipe', 'pipe']);
      const pumped = pump(ff.child.stdout!, packager, seed);
      expect(await ff.exited, ff.stderr()).toBe(0);
      expect((await pumped).chunks).toBeGreaterThan(20);
    }
    // A mid-run playlist is only possible live; the final one (before end) holds everything in the window.
    const text = writeMediaPlaylist(packager);
    const { violations, playlist } = checkLlhlsPlaylist(text);
    expect(violations).toEqual([]);
    packager.end();

    const all = [...packager.segments];
    const parts = all.flatMap((s) => s.parts);
    // 2 runs × 4 s: 8 segments, 40 parts, numbered straight through the restart.
    expect(all.map((s) => s.msn)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(parts.map((p) => p.id)).toEqual([...Array(40).keys()]);
    expect(all.map((s) => [s.initId, s.discontinuitySeq])).toEqual([[0, 0], [0, 0], [0, 0], [0, 0], [1, 1], [1, 1], [1, 1], [1, 1]]);
    expect(playlist.segments.filter((s) => s.discontinuity).map((s) => s.msn)).toEqual([4]);
    for (const s of all) {
      expect(s.parts.length).toBe(5);
      expect(s.parts[0]!.independent).toBe(true);
      expect(s.parts.slice(1).every((p) => !p.independent)).toBe(true);
      expect(s.duration).toBeGreaterThanOrEqual(0.9);
      expect(s.duration).toBeLessThanOrEqual(1.05);
    }
    for (const p of parts) {
      expect(p.duration).toBeGreaterThanOrEqual(0.19);
      expect(p.duration).toBeLessThanOrEqual(0.23);
    }
    console.info(
      `real ffmpeg: segment durations ${all.map((s) => round(s.duration)).join(', ')} s; part durations ` +
        `min ${round(Math.min(...parts.map((p) => p.duration)))} max ${round(Math.max(...parts.map((p) => p.duration)))} s; ` +
        `PART-TARGET ${packager.partTarget}, TARGETDURATION ${packager.targetDuration}`,
    );

    // Each full segment, behind the init of its run, is a file ffprobe reads: 640x360 H.264, opening on an
    // I frame, with all its frames.
    expect(segments).toHaveLength(8);
    for (const s of segments) {
      const init = packager.getInit(s.initId)!;
      const p = probe(path.join(tmp, `seg${s.msn}.mp4`), init.bytes, s.bytes);
      expect(p).toMatchObject({ codec: 'h264', width: 640, height: 360 });
      expect(p.frames.length).toBe(s.frames);
      expect(p.frames[0]).toEqual({ key: true, type: 'I' });
      expect(p.frames.slice(1).some((f) => f.key)).toBe(false);
    }
  });

  it('packages every rung of the ladder from ffmpegFmp4Args (pipes 3 and 4, with audio), with rendition reports', async () => {
    const { args, outputs } = ffmpegFmp4Args({
      input: 'testsrc2=size=640x360:rate=30:duration=3[out0];sine=frequency=440:sample_rate=48000:duration=3[out1]',
      inputOptions: ['-f', 'lavfi'],
      rungs: ladderFor([360, 240], 360),
      copyTop: false,
      hasAudio: true,
      segmentSeconds: 1,
      partSeconds: 0.2,
      fps: 30,
      preset: 'veryfast',
    });
    const ff = run(args, ffmpegFmp4Stdio(outputs));
    const packagers = outputs.map((o) => new RenditionPackager({ name: `r${o.rung}` }));
    const pumped = outputs.map((o, i) => pump(ff.child.stdio[o.fd] as Readable, packagers[i]!, 3 + i));
    expect(await ff.exited, ff.stderr()).toBe(0);
    await Promise.all(pumped);

    for (const [i, p] of packagers.entries()) {
      const parts = p.segments.flatMap((s) => s.parts).map((x) => x.duration);
      console.info(
        `real ffmpeg ladder r${i} (with AAC): segment durations ${p.segments.map((s) => round(s.duration)).join(', ')} s; ` +
          `parts min ${round(Math.min(...parts))} max ${round(Math.max(...parts))} s; PART-TARGET ${p.partTarget}`,
      );
      const init = p.getInit(0)!;
      expect(init.tracks.map((t) => t.handler)).toEqual(['vide', 'soun']);
      expect(init.primary.height).toBe([360, 240][i]);
      expect(init.primary.codec).toMatch(/^avc1\.4d/); // main profile
      const others = packagers.filter((o) => o !== p).map((o) => renditionReportOf(o)!);
      const { violations, playlist } = checkLlhlsPlaylist(writeMediaPlaylist(p, { renditionReports: others }));
      expect(violations).toEqual([]);
      expect(playlist.renditionReports).toEqual(others.map((r) => ({ URI: r.uri, 'LAST-MSN': String(r.lastMsn), 'LAST-PART': String(r.lastPart) })));
      expect(p.segments.length).toBeGreaterThanOrEqual(2);
      for (const s of p.segments) expect(s.parts[0]!.independent).toBe(true);
      // With AAC (priming makes its first timestamp negative) the video stays on its frame grid: the first
      // part is no longer than the others, so PART-TARGET (and PART-HOLD-BACK = 3 × it) stay at 0.2 s.
      expect(Math.max(...parts)).toBeLessThanOrEqual(0.2 + 1e-6);
      expect(p.partTarget).toBe(0.2);
      const seg = p.segments[0]!;
      const probed = probe(path.join(tmp, `ladder${i}.mp4`), init.bytes, p.getSegment(seg.msn)!);
      expect(probed.height).toBe([360, 240][i]);
      expect(probed.frames[0]!.type).toBe('I');
    }
  });
});
