import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { OfferError } from '../../server/whip/OfferError.js';
import { parseFmtp, parseOffer } from '../../server/whip/sdpOffer.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/sdp/', import.meta.url));
const fixture = (name: string) => fs.readFileSync(`${FIXTURES}${name}.sdp`, 'utf8');
const parse = (text: string) => parseOffer(text, { maxMediaSections: 8 });

describe('parseOffer: real offers', () => {
  it('reads a Chromium WHIP offer: mids, directions, codecs in order, RTX, extensions, SSRCs, DTLS', () => {
    const offer = parse(fixture('chromium-vp8'));
    expect(offer.bundle).toEqual(['0', '1']);
    expect(offer.setup).toBe('actpass');
    expect(offer.fingerprints).toHaveLength(1);
    expect(offer.fingerprints[0]).toMatchObject({ algorithm: 'sha-256' });
    const [audio, video] = offer.media;
    expect(audio).toMatchObject({ kind: 'audio', mid: '0', direction: 'sendonly', rtcpMux: true, rtcpRsize: true, bundleOnly: false });
    expect(audio!.codecs[0]).toMatchObject({ payloadType: 111, name: 'opus', mimeType: 'audio/opus', clockRate: 48000, channels: 2, parameters: { minptime: 10, useinbandfec: 1 } });
    expect(audio!.codecs[0]!.rtcpFeedback).toEqual([{ type: 'transport-cc' }]);
    expect(audio!.ssrcs).toHaveLength(1);
    expect(audio!.cname).toBeTruthy();
    expect(video).toMatchObject({ kind: 'video', mid: '1', direction: 'sendonly' });
    expect(video!.codecs.slice(0, 2).map((c) => [c.name, c.payloadType, c.parameters])).toEqual([
      ['VP8', 96, {}],
      ['rtx', 97, { apt: 96 }],
    ]);
    expect(video!.codecs[0]!.rtcpFeedback).toContainEqual({ type: 'nack', parameter: 'pli' });
    expect(video!.extensions).toContainEqual({ id: 4, uri: 'urn:ietf:params:rtp-hdrext:sdes:mid' });
    expect(video!.ssrcGroups).toEqual([{ semantics: 'FID', ssrcs: video!.ssrcs }]);
    expect(video!.rids).toEqual([]);
    expect(video!.simulcastSend).toBeUndefined();
  });

  it('keeps H.264 profile-level-id a string, whatever it looks like', () => {
    const video = parse(fixture('chromium-h264')).media[1]!;
    const h264 = video.codecs.filter((c) => c.name === 'H264');
    expect(h264.length).toBeGreaterThan(2);
    for (const c of h264) expect(typeof c.parameters['profile-level-id']).toBe('string');
    expect(new Set(h264.map((c) => c.parameters['profile-level-id']))).toEqual(new Set(['42001f', '42e01f', '4d001f']));
    expect(parseFmtp('profile-level-id=640032;packetization-mode=1;x=abc')).toEqual({ 'profile-level-id': '640032', 'packetization-mode': 1, x: 'abc' });
    expect(parseFmtp('__proto__=1;a=b')).toEqual({ a: 'b' });
  });

  it('reads simulcast rids and the a=simulcast send list', () => {
    const video = parse(fixture('chromium-vp8-simulcast')).media[1]!;
    expect(video.rids.map((r) => [r.id, r.direction])).toEqual([
      ['q', 'send'],
      ['h', 'send'],
      ['f', 'send'],
    ]);
    expect(video.simulcastSend).toEqual(['q', 'h', 'f']);
    expect(video.ssrcs).toEqual([]);
    // Paused layers and alternatives.
    const paused = fixture('chromium-vp8-simulcast').replace('a=simulcast:send q;h;f', 'a=simulcast:send q;~h;f,x');
    expect(parse(paused).media[1]!.simulcastSend).toEqual(['q', 'f']);
  });

  it('reads a GStreamer offer: bundle-only port 0, named mids, upper-case codec names', () => {
    const offer = parse(fixture('gstreamer-h264-opus-rtx'));
    expect(offer.bundle).toEqual(['video0', 'audio1']);
    const [video, audio] = offer.media;
    expect(video).toMatchObject({ mid: 'video0', kind: 'video', port: 9 });
    expect(audio).toMatchObject({ mid: 'audio1', kind: 'audio', port: 0, bundleOnly: true });
    expect(audio!.codecs[0]).toMatchObject({ name: 'OPUS', mimeType: 'audio/OPUS', channels: 2 });
    expect(video!.ssrcGroups[0]).toEqual({ semantics: 'FID', ssrcs: [1727375563, 3063633563] });
  });

  it('reads an OBS offer with its ICE and DTLS at session level', () => {
    const offer = parse(fixture('obs30-h264-opus'));
    expect(offer.setup).toBe('actpass');
    expect(offer.fingerprints).toHaveLength(1);
    expect(offer.media.map((m) => [m.kind, m.mid, m.ssrcs.length, m.extensions.length])).toEqual([
      ['audio', '0', 1, 0],
      ['video', '1', 1, 0],
    ]);
  });
});

describe('parseOffer: refusals', () => {
  const malformed = (text: string, message: RegExp) => {
    let err: unknown;
    try {
      parse(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OfferError);
    expect((err as OfferError).problem).toBe('malformed');
    expect((err as OfferError).message).toMatch(message);
  };
  const obs = fixture('obs30-h264-opus');

  it('refuses what is not an SDP offer', () => {
    malformed('', /v=0/);
    malformed('hello', /v=0/);
    malformed(JSON.stringify({ type: 'offer' }), /v=0/);
    malformed('v=0\r\ns=-\r\n', /no m= section/);
  });

  it('refuses offers without DTLS, with a bad setup, duplicate mids or bad numbers', () => {
    malformed(obs.replace(/a=fingerprint:.*\r\n/, ''), /no a=fingerprint/);
    malformed(obs.replace(/a=fingerprint:sha-256/, 'a=fingerprint:md5'), /hash function/);
    malformed(obs.replace(/a=fingerprint:sha-256 \S+/, 'a=fingerprint:sha-256 zz'), /not a hex fingerprint/);
    malformed(obs.replace('a=setup:actpass', 'a=setup:holdconn'), /holdconn/);
    malformed(obs.replace('a=mid:1', 'a=mid:0'), /same a=mid/);
    malformed(obs.replace('m=video 35917 UDP/TLS/RTP/SAVPF 96', 'm=video 35917 UDP/TLS/RTP/SAVPF 300'), /0-127/);
    malformed(obs.replace('a=ssrc:3521563368 cname', 'a=ssrc:0 cname'), /SSRC/);
    malformed(obs.replace('t=0 0\r\n', 't=0 0\r\na=ice-lite\r\n'), /ICE-lite/);
  });

  it('refuses an absurd number of m-lines', () => {
    const many = obs + Array.from({ length: 8 }, (_, i) => `m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:x${i}\r\n`).join('');
    malformed(many, /10 m= sections; at most 8/);
  });

  it('defaults a missing a=setup to active (RFC 4145)', () => {
    expect(parse(obs.replace('a=setup:actpass\r\n', '')).setup).toBe('active');
  });
});
