/**
 * The browser code's pure parts: simulcast layers, codec choice, send stats, the embed protocol, the player's
 * choice of mode (WebRTC or HLS), formatting.
 */
import { describe, expect, it } from 'vitest';
import type { types } from 'mediasoup-client';
import { parseCommand } from '../../client/embed/embedProtocol.js';
import { fallbackMessage, initialMode, MODE_LABELS, parseModePreference } from '../../client/player/delivery.js';
import { layerNames } from '../../client/player/quality.js';
import { computeSendStats } from '../../client/studio/sendStats.js';
import { simulcastEncodings } from '../../client/studio/simulcast.js';
import { pickVideoCodec } from '../../client/studio/videoCodec.js';
import { formatBitrate, formatDuration } from '../../client/ui/format.js';
import { embedSnippet } from '../../client/watch/embedSnippet.js';

describe('simulcastEncodings', () => {
  it('sends 3 layers from 720p up, lowest first, each smaller and cheaper', () => {
    for (const height of [720, 1080]) {
      const e = simulcastEncodings(height);
      expect(e.map((l) => l.rid)).toEqual(['r0', 'r1', 'r2']);
      expect(e.map((l) => l.scaleResolutionDownBy)).toEqual([4, 2, 1]);
      expect(e[0]!.maxBitrate!).toBeLessThan(e[1]!.maxBitrate!);
      expect(e[1]!.maxBitrate!).toBeLessThan(e[2]!.maxBitrate!);
    }
    expect(simulcastEncodings(720).map((l) => l.maxBitrate)).toEqual([150_000, 500_000, 1_500_000]);
  });

  it('sends 2 layers below 720p', () => {
    expect(simulcastEncodings(360).map((l) => [l.rid, l.scaleResolutionDownBy])).toEqual([
      ['r0', 2],
      ['r1', 1],
    ]);
    expect(simulcastEncodings(480)).toHaveLength(2);
  });
});

describe('pickVideoCodec', () => {
  const caps = {
    codecs: [
      { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
      { kind: 'video', mimeType: 'video/VP8', clockRate: 90000 },
      { kind: 'video', mimeType: 'video/H264', clockRate: 90000, parameters: { 'packetization-mode': 1, 'profile-level-id': '4d001f' } },
      { kind: 'video', mimeType: 'video/H264', clockRate: 90000, parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f' } },
    ],
  } as types.RtpCapabilities;

  it('takes VP8, or the baseline H.264 with packetization-mode 1', () => {
    expect(pickVideoCodec(caps, 'VP8').mimeType).toBe('video/VP8');
    expect(pickVideoCodec(caps, 'H264').parameters?.['profile-level-id']).toBe('42e01f');
  });

  it('says so when the codec is not shared by browser and server', () => {
    expect(() => pickVideoCodec({ codecs: [] }, 'H264')).toThrow(/cannot send H264/);
  });
});

describe('computeSendStats', () => {
  const sample = (t: number, bytes: [number, number, number, number]) => [
    { type: 'codec', id: 'c1', timestamp: t, mimeType: 'video/VP8' },
    ...(['r0', 'r1', 'r2'] as const).map((rid, i) => ({
      type: 'outbound-rtp',
      id: `v${i}`,
      timestamp: t,
      kind: 'video',
      rid,
      codecId: 'c1',
      bytesSent: bytes[i],
      packetsSent: 100,
      frameWidth: 320 * 2 ** i,
      frameHeight: 180 * 2 ** i,
      framesPerSecond: 30,
    })),
    { type: 'outbound-rtp', id: 'a', timestamp: t, kind: 'audio', bytesSent: bytes[3], packetsSent: 100 },
    { type: 'remote-inbound-rtp', id: 'ra', timestamp: t, kind: 'audio', packetsLost: 4, roundTripTime: 0.05 },
    { type: 'candidate-pair', id: 'p', timestamp: t, state: 'succeeded', nominated: true, currentRoundTripTime: 0.012 },
  ];

  it('turns byte counters into bitrates per layer and in total', () => {
    const first = computeSendStats(sample(1000, [0, 0, 0, 0]), undefined);
    expect(first.stats.bitrate).toBe(0);
    const { stats } = computeSendStats(sample(2000, [10_000, 50_000, 150_000, 4_000]), first.snapshot);
    expect(stats.layers.map((l) => [l.rid, l.width, l.bitrate])).toEqual([
      ['r0', 320, 80_000],
      ['r1', 640, 400_000],
      ['r2', 1280, 1_200_000],
    ]);
    expect(stats.bitrate).toBe(80_000 + 400_000 + 1_200_000 + 32_000);
    expect(stats).toMatchObject({ fps: 30, width: 1280, height: 720, videoCodec: 'VP8', rttMs: 12, packetsLost: 4 });
    expect(stats.lossPercent).toBeCloseTo((100 * 4) / 404);
  });

  it("keeps each layer's encoder target (what the bandwidth estimate allows), null when the browser does not report it", () => {
    const withTarget = sample(1000, [0, 0, 0, 0]).map((e) => (e.type === 'outbound-rtp' && e.kind === 'video' ? { ...e, targetBitrate: 100_000 } : e));
    expect(computeSendStats(withTarget, undefined).stats.layers.map((l) => l.targetBitrate)).toEqual([100_000, 100_000, 100_000]);
    expect(computeSendStats(sample(1000, [0, 0, 0, 0]), undefined).stats.layers.map((l) => l.targetBitrate)).toEqual([null, null, null]);
  });

  it('reports nothing sent as nulls, not zeros that look measured', () => {
    expect(computeSendStats([], undefined).stats).toMatchObject({ bitrate: 0, layers: [], rttMs: null, lossPercent: null, videoCodec: null });
  });
});

describe('embed protocol', () => {
  it('accepts only OnAir commands it knows', () => {
    expect(parseCommand({ source: 'onair', command: 'pause' })).toBe('pause');
    expect(parseCommand({ source: 'onair', command: 'unmute' })).toBe('unmute');
    expect(parseCommand({ source: 'onair', command: 'eval' })).toBeUndefined();
    expect(parseCommand({ source: 'other', command: 'play' })).toBeUndefined();
    expect(parseCommand('play')).toBeUndefined();
    expect(parseCommand(null)).toBeUndefined();
  });

  it('makes an iframe snippet that may autoplay and go fullscreen', () => {
    expect(embedSnippet('https://live.example.com', 'abcdefghijkl')).toBe(
      '<iframe src="https://live.example.com/embed/abcdefghijkl" width="640" height="360" allow="autoplay; fullscreen" style="border:0"></iframe>',
    );
    expect(embedSnippet('https://x.test', 'abcdefghijkl', 'a b&c')).toContain('/embed/abcdefghijkl?token=a%20b%26c"');
  });
});

describe('playback mode', () => {
  it('reads ?mode= (hls, standard, webrtc, low-latency), anything else is auto', () => {
    expect(parseModePreference('hls')).toBe('hls');
    expect(parseModePreference('Standard')).toBe('hls');
    expect(parseModePreference('webrtc')).toBe('webrtc');
    expect(parseModePreference('low-latency')).toBe('webrtc');
    expect(parseModePreference(undefined)).toBe('auto');
    expect(parseModePreference('dash')).toBe('auto');
  });

  it('starts with WebRTC unless HLS is asked for or the browser has no WebRTC', () => {
    expect(initialMode('auto', true)).toBe('webrtc');
    expect(initialMode('webrtc', true)).toBe('webrtc');
    expect(initialMode('hls', true)).toBe('hls');
    expect(initialMode('auto', false)).toBe('hls');
    expect(initialMode('webrtc', false)).toBe('hls');
  });

  it('names the modes and says why Low latency is not playing', () => {
    expect(MODE_LABELS).toEqual({ webrtc: 'Low latency', hls: 'Standard' });
    expect(fallbackMessage('full')).toMatch(/^Low latency is full right now.*playing Standard/);
    expect(fallbackMessage('unreachable')).toMatch(/could not connect/);
    expect(fallbackMessage('unsupported')).toMatch(/browser/);
  });
});

describe('formatting', () => {
  it('formats durations, bitrates and layer names', () => {
    expect(formatDuration(65_000)).toBe('1:05');
    expect(formatDuration(3_725_000)).toBe('1:02:05');
    expect(formatBitrate(640_000)).toBe('640 kb/s');
    expect(formatBitrate(1_250_000)).toBe('1.25 Mb/s');
    expect(layerNames(3)).toEqual(['Low', 'Medium', 'High']);
    expect(layerNames(2)).toEqual(['Low', 'High']);
  });
});
