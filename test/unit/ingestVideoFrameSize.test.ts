/**
 * videoFrameSize.ts on packets made here byte by byte (RFC 3550 headers, RFC 7741 VP8 descriptors, RFC 6386
 * keyframe headers) and on an SPS written by a real libx264 (ffmpeg, 1920x1080): sizes read, malformed or
 * non-keyframe input answered with undefined, never a throw.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { frameSize, h264FrameSize, rtpPayload, vp8FrameSize } from '../../server/ingest/videoFrameSize.js';

const rtp = (payload: Buffer, opts: { csrc?: number; ext?: Buffer; padding?: number } = {}) => {
  const head = Buffer.alloc(12);
  head[0] = 0x80 | (opts.ext ? 0x10 : 0) | (opts.padding ? 0x20 : 0) | (opts.csrc ?? 0);
  head[1] = 96;
  const parts: Buffer[] = [head, Buffer.alloc((opts.csrc ?? 0) * 4)];
  if (opts.ext) parts.push(Buffer.from([0xbe, 0xde, 0, opts.ext.length / 4]), opts.ext);
  parts.push(payload);
  if (opts.padding) parts.push(Buffer.concat([Buffer.alloc(opts.padding - 1), Buffer.from([opts.padding])]));
  return Buffer.concat(parts);
};
/** A VP8 keyframe's first bytes: frame tag (keyframe), start code, 14-bit width and height (little endian). */
const vp8Key = (w: number, h: number) => Buffer.from([0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, w & 0xff, w >> 8, h & 0xff, h >> 8, 0, 0]);

describe('rtpPayload', () => {
  it('skips CSRCs and header extensions and drops padding', () => {
    const p = Buffer.from([1, 2, 3]);
    expect(rtpPayload(rtp(p))).toEqual(p);
    expect(rtpPayload(rtp(p, { csrc: 2, ext: Buffer.alloc(8, 7), padding: 4 }))).toEqual(p);
  });
  it('refuses what is not RTP version 2 or is cut short', () => {
    expect(rtpPayload(Buffer.alloc(8))).toBeUndefined();
    expect(rtpPayload(Buffer.from([0x40, ...Buffer.alloc(15)]))).toBeUndefined();
    expect(rtpPayload(Buffer.from([0x90, ...Buffer.alloc(11)]))).toBeUndefined();
  });
});

describe('VP8', () => {
  it('reads the size after a descriptor with or without PictureID', () => {
    expect(vp8FrameSize(Buffer.concat([Buffer.from([0x10]), vp8Key(640, 360)]))).toEqual({ width: 640, height: 360 });
    expect(vp8FrameSize(Buffer.concat([Buffer.from([0x90, 0x80, 0x81, 0x23]), vp8Key(1920, 1080)]))).toEqual({ width: 1920, height: 1080 });
    expect(vp8FrameSize(Buffer.concat([Buffer.from([0x90, 0xe0, 0x05, 0x01, 0x20]), vp8Key(1280, 720)]))).toEqual({ width: 1280, height: 720 });
  });
  it('answers undefined for a continuation, an inter frame, a wrong start code or a short packet', () => {
    expect(vp8FrameSize(Buffer.concat([Buffer.from([0x00]), vp8Key(640, 360)]))).toBeUndefined();
    const inter = vp8Key(640, 360);
    inter[0] = 0x51;
    expect(vp8FrameSize(Buffer.concat([Buffer.from([0x10]), inter]))).toBeUndefined();
    const bad = vp8Key(640, 360);
    bad[4] = 0x02;
    expect(vp8FrameSize(Buffer.concat([Buffer.from([0x10]), bad]))).toBeUndefined();
    expect(vp8FrameSize(Buffer.from([0x90, 0x80]))).toBeUndefined();
    expect(vp8FrameSize(Buffer.alloc(0))).toBeUndefined();
  });
});

describe('H.264', () => {
  // One frame of libx264 1920x1080 in Annex B: the SPS is the NAL unit of type 7.
  const annexB = execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'color=size=1920x1080:rate=1', '-frames:v', '1', '-c:v', 'libx264', '-f', 'h264', '-']);
  const nals = annexB
    .toString('latin1')
    .split(/\x00\x00\x00\x01|\x00\x00\x01/)
    .filter((n) => n.length > 0)
    .map((n) => Buffer.from(n, 'latin1'));
  const sps = nals.find((n) => (n[0]! & 0x1f) === 7)!;
  const pps = nals.find((n) => (n[0]! & 0x1f) === 8)!;

  it('reads the size from an SPS sent alone or in a STAP-A', () => {
    expect(h264FrameSize(sps)).toEqual({ width: 1920, height: 1080 });
    const stapA = Buffer.concat([Buffer.from([24]), Buffer.from([0, pps.length]), pps, Buffer.from([sps.length >> 8, sps.length & 0xff]), sps]);
    expect(frameSize('video/H264', rtp(stapA))).toEqual({ width: 1920, height: 1080 });
  });
  it('answers undefined for other NAL units, a truncated STAP-A or a mangled SPS', () => {
    expect(h264FrameSize(pps)).toBeUndefined();
    expect(h264FrameSize(Buffer.from([24, 0, 40, 0x67, 1]))).toBeUndefined();
    expect(() => h264FrameSize(Buffer.from([0x67, 0xff]))).not.toThrow();
    expect(frameSize('video/VP9', rtp(sps))).toBeUndefined();
  });
});
