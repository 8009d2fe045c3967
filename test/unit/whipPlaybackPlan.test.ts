/**
 * WHEP offers → the viewer's router codecs, consumer capabilities and the answer. A real mediasoup worker
 * plays the broadcast (producers from a WHIP fixture) and the viewer's router, piped in the same worker.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import * as sdpTransform from 'sdp-transform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEDIA_CODECS } from '../../server/media/mediaCodecs.js';
import { isRtx } from '../../server/whip/codecMatching.js';
import { planIngest } from '../../server/whip/ingestPlan.js';
import { OfferError } from '../../server/whip/OfferError.js';
import { planPlayback, playbackSection, type PlaybackSource } from '../../server/whip/playbackPlan.js';
import { RouterPipe } from '../../server/whip/RouterPipe.js';
import { writeAnswer, type AnswerSection } from '../../server/whip/sdpAnswer.js';
import { parseOffer } from '../../server/whip/sdpOffer.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/sdp/', import.meta.url));
const fixture = (name: string) => fs.readFileSync(`${FIXTURES}${name}.sdp`, 'utf8');
const parse = (text: string) => parseOffer(text, { maxMediaSections: 8 });
const WHEP_OFFER = fixture('chromium-whep-recvonly');

let worker: types.Worker;
let broadcastRouter: types.Router;
beforeAll(async () => {
  worker = await mediasoup.createWorker({ logLevel: 'error' });
  broadcastRouter = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
});
afterAll(() => worker?.close());

/** A broadcast fed by a WHIP fixture: its producers as playback sources. */
async function broadcastFrom(name: string): Promise<PlaybackSource[]> {
  const plan = planIngest(parse(fixture(name)), broadcastRouter.rtpCapabilities, { maxSimulcastLayers: 4 });
  const transport = await broadcastRouter.createWebRtcTransport({ listenIps: [{ ip: '127.0.0.1' }] });
  const sources: PlaybackSource[] = [];
  for (const t of plan.tracks) {
    const p = await transport.produce({ kind: t.kind, rtpParameters: t.rtpParameters });
    sources.push({ kind: p.kind, producerId: p.id, codec: p.rtpParameters.codecs.find((c) => !isRtx(c))! });
  }
  return sources;
}

const offeredPt = (mediaIndex: number, name: string, fmtp?: RegExp) => {
  const m = sdpTransform.parse(WHEP_OFFER).media[mediaIndex]!;
  return m.rtp.find((r) => r.codec === name && (!fmtp || fmtp.test(m.fmtp.find((f) => f.payload === r.payload)?.config ?? '')))!.payload;
};

describe('WHEP offer → the viewer’s router and consumers', () => {
  it('gives the viewer’s router the broadcast’s codecs under the viewer’s payload types', async () => {
    const plan = planPlayback(parse(WHEP_OFFER), await broadcastFrom('chromium-vp8'));
    expect(plan.routerCodecs).toEqual([
      expect.objectContaining({ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2, preferredPayloadType: offeredPt(0, 'opus') }),
      expect.objectContaining({ kind: 'video', mimeType: 'video/VP8', clockRate: 90000, preferredPayloadType: offeredPt(1, 'VP8') }),
    ]);
    expect(plan.tracks.map((t) => [t.media.mid, t.offerCodec.payloadType])).toEqual([
      ['0', offeredPt(0, 'opus')],
      ['1', offeredPt(1, 'VP8')],
    ]);
    expect(plan.tracks[1]!.rtpCapabilities.codecs).toEqual([
      expect.objectContaining({ kind: 'video', mimeType: 'video/VP8', preferredPayloadType: offeredPt(1, 'VP8') }),
    ]);
  });

  it('picks the offered H.264 of the producer’s profile and packetization mode', async () => {
    const plan = planPlayback(parse(WHEP_OFFER), await broadcastFrom('obs30-h264-opus'));
    expect(plan.tracks[1]!.offerCodec.payloadType).toBe(offeredPt(1, 'H264', /packetization-mode=1;profile-level-id=42e01f/));
  });

  it('406 when the player cannot receive the broadcast’s codec; rejects m-lines it has nothing for', async () => {
    const sources = await broadcastFrom('chromium-vp8');
    const noVp8 = WHEP_OFFER.replace(/a=rtpmap:(\d+) VP8\/90000/, 'a=rtpmap:$1 VP7/90000');
    expect(() => planPlayback(parse(noVp8), sources)).toThrow(OfferError);
    expect(() => planPlayback(parse(noVp8), sources)).toThrow(/video: this stream is VP8, which the player did not offer to receive/);
    const audioOnly = planPlayback(parse(WHEP_OFFER), sources.filter((s) => s.kind === 'audio'));
    expect(audioOnly.tracks.map((t) => t.source.kind)).toEqual(['audio']);
    expect(audioOnly.rejected.map((r) => r.reason)).toEqual(['the stream has no video now']);
    expect(() => planPlayback(parse(fixture('chromium-vp8')), sources)).toThrow(/must receive/);
  });

  it('consumers send with the offer’s payload types; the answer is sendonly with their SSRCs', async () => {
    for (const name of ['chromium-vp8', 'chromium-vp8-simulcast', 'obs30-h264-opus']) {
      const sources = await broadcastFrom(name);
      const offer = parse(WHEP_OFFER);
      const plan = planPlayback(offer, sources);
      const viewerRouter = await worker.createRouter({ mediaCodecs: plan.routerCodecs });
      const pipe = await RouterPipe.open(broadcastRouter, viewerRouter);
      const transport = await viewerRouter.createWebRtcTransport({ listenIps: [{ ip: '127.0.0.1' }] });
      const sections: AnswerSection[] = [...plan.rejected];
      const consumers = [];
      for (const track of plan.tracks) {
        const piped = await pipe.pipe(track.source.producerId);
        const consumer = await transport.consume({ producerId: piped.id, rtpCapabilities: track.rtpCapabilities, paused: true, enableRtx: false, mid: track.media.mid! });
        consumers.push(consumer);
        expect(consumer.rtpParameters.codecs.map((c) => c.payloadType), name).toEqual([track.offerCodec.payloadType]);
        expect(consumer.rtpParameters.mid).toBe(track.media.mid);
        sections.push(playbackSection(track, consumer, 'onair-test'));
      }
      expect(consumers.map((c) => c.type)).toEqual(['simple', name.includes('simulcast') ? 'simulcast' : 'simple']);
      const answer = sdpTransform.parse(
        writeAnswer({
          sections,
          transport: { iceParameters: transport.iceParameters, iceCandidates: transport.iceCandidates, fingerprints: transport.dtlsParameters.fingerprints },
          setup: 'passive',
        }),
      );
      const offered = sdpTransform.parse(WHEP_OFFER);
      expect(answer.media.map((m) => [m.type, String(m.mid), m.direction])).toEqual([
        ['audio', '0', 'sendonly'],
        ['video', '1', 'sendonly'],
      ]);
      for (const [i, m] of answer.media.entries()) {
        const c = consumers[i]!;
        expect(m.ssrcs?.filter((l) => l.attribute === 'cname').map((l) => l.id)).toEqual([c.rtpParameters.encodings![0]!.ssrc]);
        expect(m.msid).toEqual([{ id: 'onair-test', appdata: c.id }]);
        expect(m.ssrcGroups).toBeUndefined();
        // Nothing the offer did not say: same payload type numbers and names, extension ids only where they agree.
        for (const r of m.rtp) expect(offered.media[i]!.rtp.find((o) => o.payload === r.payload)?.codec).toBe(r.codec);
        for (const e of m.ext ?? []) expect(offered.media[i]!.ext?.find((o) => o.value === e.value)?.uri).toBe(e.uri);
        expect((m.rtcpFb ?? []).some((f) => f.type === 'nack' && !f.subtype)).toBe(false);
      }
      expect(answer.media[1]!.rtcpFb?.map((f) => `${f.type} ${f.subtype ?? ''}`.trim())).toEqual(['ccm fir', 'nack pli']);
      viewerRouter.close();
    }
  });

  it('the pipe closes with the viewer’s router, and the piped producer with its original', async () => {
    const [audio] = await broadcastFrom('chromium-vp8');
    const viewerRouter = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
    const pipe = await RouterPipe.open(broadcastRouter, viewerRouter);
    const piped = await pipe.pipe(audio!.producerId);
    expect(piped.id).not.toBe(audio!.producerId);
    const before = (await broadcastRouter.dump()).transportIds.length;
    viewerRouter.close();
    expect(piped.closed).toBe(true);
    await expect.poll(async () => (await broadcastRouter.dump()).transportIds.length).toBe(before - 1);
  });
});
