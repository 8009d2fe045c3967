/**
 * WHIP offers → mediasoup producer parameters and SDP answers. The router is a real mediasoup one (its
 * capabilities, and `produce` as the judge of the parameters); the offers are real Chromium ones and
 * OBS/GStreamer-shaped ones (test/fixtures/sdp).
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import * as sdpTransform from 'sdp-transform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEDIA_CODECS } from '../../server/media/mediaCodecs.js';
import { planIngest, ridsLowToHigh } from '../../server/whip/ingestPlan.js';
import { OfferError } from '../../server/whip/OfferError.js';
import { dtlsRoles, writeAnswer } from '../../server/whip/sdpAnswer.js';
import { parseOffer } from '../../server/whip/sdpOffer.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/sdp/', import.meta.url));
const fixture = (name: string) => fs.readFileSync(`${FIXTURES}${name}.sdp`, 'utf8');
const LIMITS = { maxSimulcastLayers: 4 };

let worker: types.Worker;
let router: types.Router;
beforeAll(async () => {
  worker = await mediasoup.createWorker({ logLevel: 'error' });
  router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
});
afterAll(() => worker?.close());

const plan = (name: string, text = fixture(name)) => planIngest(parseOffer(text, { maxMediaSections: 8 }), router.rtpCapabilities, LIMITS);

/** Produces every planned track on a real transport, and writes the answer with that transport. */
async function produceAndAnswer(name: string, text = fixture(name)) {
  const offer = parseOffer(text, { maxMediaSections: 8 });
  const p = planIngest(offer, router.rtpCapabilities, LIMITS);
  const transport = await router.createWebRtcTransport({ listenIps: [{ ip: '127.0.0.1' }], enableUdp: true, enableTcp: true });
  const producers = [];
  for (const t of p.tracks) producers.push(await transport.produce({ kind: t.kind, rtpParameters: t.rtpParameters }));
  const answer = writeAnswer({
    sections: p.sections,
    transport: { iceParameters: transport.iceParameters, iceCandidates: transport.iceCandidates, fingerprints: transport.dtlsParameters.fingerprints },
    setup: dtlsRoles(offer.setup).answerSetup,
  });
  transport.close();
  return { plan: p, producers, answer: sdpTransform.parse(answer), text: answer };
}

describe('WHIP offer → producer parameters', () => {
  it('Chromium VP8: Opus + VP8 with its RTX SSRC, the offer’s payload types and extension ids', () => {
    const { tracks } = plan('chromium-vp8');
    const [audio, video] = tracks;
    expect(audio!.kind).toBe('audio');
    expect(audio!.rtpParameters).toMatchObject({
      mid: '0',
      codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2, parameters: { minptime: 10, useinbandfec: 1 } }],
      rtcp: { reducedSize: true, mux: true },
    });
    expect(audio!.rtpParameters.codecs[0]!.rtcpFeedback).toEqual([{ type: 'transport-cc' }]);
    expect(audio!.rtpParameters.headerExtensions!.map((h) => [h.id, h.uri])).toEqual([
      [1, 'urn:ietf:params:rtp-hdrext:ssrc-audio-level'],
      [2, 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time'],
      [3, 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01'],
      [4, 'urn:ietf:params:rtp-hdrext:sdes:mid'],
    ]);
    const offered = parseOffer(fixture('chromium-vp8'), { maxMediaSections: 8 }).media[1]!;
    expect(video!.rtpParameters.codecs.map((c) => [c.mimeType, c.payloadType, c.parameters])).toEqual([
      ['video/VP8', 96, {}],
      ['video/rtx', 97, { apt: 96 }],
    ]);
    expect(video!.rtpParameters.encodings).toEqual([{ ssrc: offered.ssrcs[0], rtx: { ssrc: offered.ssrcs[1] } }]);
    expect(video!.rtpParameters.codecs[0]!.rtcpFeedback!.map((f) => `${f.type} ${f.parameter ?? ''}`.trim())).toEqual([
      'goog-remb',
      'transport-cc',
      'ccm fir',
      'nack',
      'nack pli',
    ]);
    // Extensions mediasoup does not know (playout-delay, color-space...) are left out.
    expect(video!.rtpParameters.headerExtensions!.map((h) => h.id)).toEqual([14, 2, 13, 3, 4, 10, 11]);
    expect(video!.rtpParameters.rtcp!.cname).toBe(offered.cname);
  });

  it('Chromium H.264: the first offered H.264 the router has (constrained baseline, packetization-mode 1)', () => {
    const video = plan('chromium-h264').tracks[1]!;
    const [codec, rtx] = video.rtpParameters.codecs;
    expect(codec).toMatchObject({ mimeType: 'video/H264', parameters: { 'profile-level-id': '42e01f', 'packetization-mode': 1 } });
    // 42001f (baseline, not constrained) comes first in Chromium's offer, and the router does not have it.
    const offered = parseOffer(fixture('chromium-h264'), { maxMediaSections: 8 }).media[1]!;
    expect(offered.codecs[0]!.parameters['profile-level-id']).toBe('42001f');
    expect(rtx).toMatchObject({ mimeType: 'video/rtx', parameters: { apt: codec!.payloadType } });
  });

  it('Chromium simulcast: one encoding per rid from the lowest up, with temporal layers', () => {
    for (const name of ['chromium-vp8-simulcast', 'chromium-h264-simulcast']) {
      const video = plan(name).tracks[1]!;
      expect(video.rtpParameters.encodings, name).toEqual([
        { rid: 'q', scalabilityMode: 'L1T3' },
        { rid: 'h', scalabilityMode: 'L1T3' },
        { rid: 'f', scalabilityMode: 'L1T3' },
      ]);
      expect(video.rtpParameters.headerExtensions!.map((h) => h.uri)).toContain('urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id');
      expect(video.rtpParameters.mid).toBe('1');
    }
  });

  it('OBS: H.264 + Opus, one SSRC each, no RTX, no header extensions', () => {
    const [audio, video] = plan('obs30-h264-opus').tracks;
    expect(audio!.rtpParameters).toMatchObject({ codecs: [{ mimeType: 'audio/opus', payloadType: 111 }], encodings: [{ ssrc: 3521563367 }], headerExtensions: [] });
    expect(video!.rtpParameters.codecs).toHaveLength(1);
    expect(video!.rtpParameters).toMatchObject({ codecs: [{ mimeType: 'video/H264', payloadType: 96 }], encodings: [{ ssrc: 3521563368 }] });
    expect(video!.rtpParameters.codecs[0]!.rtcpFeedback!.map((f) => f.type)).toEqual(['nack', 'nack']);
  });

  it('GStreamer: the a=ssrc-group:FID pair as SSRC + RTX SSRC, the bundle-only audio accepted', () => {
    const { tracks, sections } = plan('gstreamer-h264-opus-rtx');
    expect(sections.map((s) => s.accepted)).toEqual([true, true]);
    const [video, audio] = tracks;
    expect(video!.rtpParameters).toMatchObject({
      mid: 'video0',
      codecs: [
        { mimeType: 'video/H264', payloadType: 96, parameters: { 'profile-level-id': '42c01f' } },
        { mimeType: 'video/rtx', payloadType: 97 },
      ],
      encodings: [{ ssrc: 1727375563, rtx: { ssrc: 3063633563 } }],
      headerExtensions: [{ id: 1, uri: 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01' }],
    });
    expect(audio!.rtpParameters).toMatchObject({ mid: 'audio1', codecs: [{ mimeType: 'audio/opus', channels: 2 }], encodings: [{ ssrc: 2283093290 }] });
  });

  it('orders rids from the lowest resolution up', () => {
    const r = (id: string, params: Record<string, string> = {}) => ({ id, params });
    expect(ridsLowToHigh([r('f'), r('h'), r('q')]).map((x) => x.id)).toEqual(['q', 'h', 'f']);
    expect(ridsLowToHigh([r('h'), r('m'), r('l')]).map((x) => x.id)).toEqual(['l', 'm', 'h']);
    expect(ridsLowToHigh([r('high'), r('low')]).map((x) => x.id)).toEqual(['low', 'high']);
    expect(ridsLowToHigh([r('a', { 'max-height': '720' }), r('b', { 'max-height': '180' })]).map((x) => x.id)).toEqual(['b', 'a']);
    expect(ridsLowToHigh([r('2'), r('0'), r('1')]).map((x) => x.id)).toEqual(['2', '0', '1']);
  });
});

describe('WHIP offer → refusals and rejected m-lines', () => {
  const problem = (text: string) => {
    try {
      plan('', text);
    } catch (err) {
      if (err instanceof OfferError) return { problem: err.problem, message: err.message };
      throw err;
    }
    return undefined;
  };
  const obs = fixture('obs30-h264-opus');

  it('406 when a track has no codec the router takes, or nothing is sent at all', () => {
    expect(problem(obs.replace('a=rtpmap:96 H264/90000', 'a=rtpmap:96 AV1/90000'))).toEqual({
      problem: 'not_acceptable',
      message: expect.stringMatching(/^video: none of the offered codecs \(AV1\) is supported; OnAir receives VP8, VP9, H264/),
    });
    expect(problem(obs.replace('a=fmtp:96 profile-level-id=42e01f', 'a=fmtp:96 profile-level-id=640c1f'))?.problem).toBe('not_acceptable');
    expect(problem(fixture('chromium-whep-recvonly'))).toEqual({ problem: 'not_acceptable', message: expect.stringMatching(/must send/) });
  });

  it('400 for simulcast without the rid extension, or too many layers', () => {
    const sim = fixture('chromium-vp8-simulcast');
    expect(problem(sim.replace(/a=extmap:\d+ urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\r\n/g, ''))).toMatchObject({ problem: 'malformed', message: expect.stringMatching(/rtp-stream-id/) });
    const five = sim.replace('a=simulcast:send q;h;f', 'a=simulcast:send a;b;c;d;e');
    expect(problem(five)).toMatchObject({ problem: 'malformed', message: expect.stringMatching(/at most 4 simulcast layers/) });
  });

  it('rejects (port 0) a data channel, a second video track and unbundled m-lines, and answers the rest', async () => {
    const withExtras =
      fixture('chromium-vp8') +
      'm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:2\r\na=sctp-port:5000\r\n' +
      'm=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:3\r\na=sendonly\r\na=rtcp-mux\r\na=rtpmap:96 VP8/90000\r\na=ssrc:42 cname:x\r\n';
    const bundled = withExtras.replace('a=group:BUNDLE 0 1', 'a=group:BUNDLE 0 1 2 3');
    const { plan: p, answer } = await produceAndAnswer('', bundled);
    expect(p.sections.map((s) => (s.accepted ? 'ok' : s.reason))).toEqual(['ok', 'ok', expect.stringMatching(/not application/), expect.stringMatching(/one video track/)]);
    expect(answer.media.map((m) => [m.type, m.port === 0, String(m.mid)])).toEqual([
      ['audio', false, '0'],
      ['video', false, '1'],
      ['application', true, '2'],
      ['video', true, '3'],
    ]);
    expect(answer.groups).toEqual([{ type: 'BUNDLE', mids: '0 1' }]);
    // Not in the BUNDLE group: rejected.
    const unbundled = plan('', fixture('chromium-vp8').replace('a=group:BUNDLE 0 1', 'a=group:BUNDLE 0'));
    expect(unbundled.sections.map((s) => s.accepted)).toEqual([true, false]);
  });
});

describe('WHIP answers (with a real transport)', () => {
  it('mediasoup takes the parameters of every fixture, and the answer mirrors the offer', async () => {
    for (const name of ['chromium-vp8', 'chromium-h264', 'chromium-vp8-simulcast', 'chromium-h264-simulcast', 'obs30-h264-opus', 'gstreamer-h264-opus-rtx']) {
      const offer = sdpTransform.parse(fixture(name));
      const { producers, answer, text } = await produceAndAnswer(name);
      expect(producers.map((p) => p.kind).sort(), name).toEqual(['audio', 'video']);
      expect(text.split('\r\n')[0]).toBe('v=0');
      expect(answer.icelite).toBe('ice-lite');
      expect(answer.media.map((m) => [m.type, String(m.mid), m.direction])).toEqual(offer.media.map((m) => [m.type, String(m.mid), 'recvonly']));
      for (const m of answer.media) {
        expect(m.setup).toBe('passive');
        expect(m.candidates!.length).toBeGreaterThanOrEqual(2);
        expect(m.fingerprint).toMatchObject({ type: 'sha-256', hash: expect.stringMatching(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/) });
        expect(m.rtcpMux).toBe('rtcp-mux');
        expect(m.port).toBe(m.candidates![0]!.port);
        // Every payload type and extension id of the answer is the offer's.
        const om = offer.media.find((o) => String(o.mid) === String(m.mid))!;
        for (const r of m.rtp) expect(om.rtp.find((o) => o.payload === r.payload)?.codec.toLowerCase()).toBe(r.codec.toLowerCase());
        for (const e of m.ext ?? []) expect(om.ext?.find((o) => o.value === e.value)?.uri).toBe(e.uri);
      }
      if (name.includes('simulcast')) {
        expect(answer.media[1]!.rids).toEqual([
          { id: 'q', direction: 'recv' },
          { id: 'h', direction: 'recv' },
          { id: 'f', direction: 'recv' },
        ]);
        expect(answer.media[1]!.simulcast).toEqual({ dir1: 'recv', list1: 'q;h;f' });
      }
    }
  });

  it('asks for stereo Opus, and takes the DTLS role the offer leaves', async () => {
    const { answer } = await produceAndAnswer('chromium-vp8');
    expect(answer.media[0]!.fmtp[0]!.config).toMatch(/stereo=1/);
    expect(dtlsRoles('actpass')).toEqual({ answerSetup: 'passive', clientRole: 'client' });
    expect(dtlsRoles('active')).toEqual({ answerSetup: 'passive', clientRole: 'client' });
    expect(dtlsRoles('passive')).toEqual({ answerSetup: 'active', clientRole: 'server' });
  });
});
