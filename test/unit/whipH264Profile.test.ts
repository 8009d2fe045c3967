import { describe, expect, it } from 'vitest';
import { describeCodec, sameCodec } from '../../server/whip/codecMatching.js';
import { h264Profile, sameH264Profile } from '../../server/whip/h264Profile.js';

describe('H.264 profiles and codec matching', () => {
  it('reads profiles from profile-level-id as libwebrtc and mediasoup do', () => {
    expect(h264Profile('42e01f')).toBe('constrained-baseline');
    expect(h264Profile('42c01f')).toBe('constrained-baseline');
    expect(h264Profile('4d801f')).toBe('constrained-baseline');
    expect(h264Profile('42001f')).toBe('baseline');
    expect(h264Profile('4d001f')).toBe('main');
    expect(h264Profile('640032')).toBe('high');
    expect(h264Profile('640c1f')).toBe('constrained-high');
    expect(h264Profile('f4001f')).toBe('predictive-high-444');
    expect(h264Profile()).toBe('constrained-baseline');
    expect(h264Profile('zzzzzz')).toBeUndefined();
    expect(h264Profile('42e0')).toBeUndefined();
    expect(h264Profile('ff001f')).toBeUndefined();
  });

  it('treats levels as irrelevant and a missing profile-level-id as 42e01f', () => {
    expect(sameH264Profile({ 'profile-level-id': '42e01f' }, { 'profile-level-id': '42e034' })).toBe(true);
    expect(sameH264Profile({}, { 'profile-level-id': '42e01f' })).toBe(true);
    expect(sameH264Profile({ 'profile-level-id': '42001f' }, { 'profile-level-id': '42e01f' })).toBe(false);
  });

  it('matches codecs by name (any case), clock rate, channels and the H.264/VP9 parameters', () => {
    const h264 = (params: Record<string, unknown>) => ({ mimeType: 'video/H264', clockRate: 90000, parameters: params });
    expect(sameCodec(h264({ 'packetization-mode': 1, 'profile-level-id': '42e01f' }), h264({ 'packetization-mode': 1, 'profile-level-id': '42e01f' }))).toBe(true);
    expect(sameCodec(h264({ 'profile-level-id': '42e01f' }), h264({ 'packetization-mode': 1, 'profile-level-id': '42e01f' }))).toBe(false);
    expect(sameCodec(h264({ 'packetization-mode': 1, 'profile-level-id': '4d001f' }), h264({ 'packetization-mode': 1, 'profile-level-id': '42e01f' }))).toBe(false);
    expect(sameCodec({ mimeType: 'audio/OPUS', clockRate: 48000, channels: 2 }, { mimeType: 'audio/opus', clockRate: 48000, channels: 2 })).toBe(true);
    expect(sameCodec({ mimeType: 'audio/opus', clockRate: 48000 }, { mimeType: 'audio/opus', clockRate: 48000, channels: 2 })).toBe(false);
    expect(sameCodec({ mimeType: 'video/VP9', clockRate: 90000, parameters: { 'profile-id': 2 } }, { mimeType: 'video/VP9', clockRate: 90000, parameters: { 'profile-id': 0 } })).toBe(false);
    expect(sameCodec({ mimeType: 'video/VP8', clockRate: 90000 }, { mimeType: 'video/VP8', clockRate: 48000 })).toBe(false);
    expect(describeCodec(h264({ 'packetization-mode': 1, 'profile-level-id': '42e01f' }))).toBe('H264 (profile-level-id 42e01f, packetization-mode 1)');
  });
});
