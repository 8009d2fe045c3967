/**
 * Made-up CMAF values for the LL-HLS unit tests: fragments as the CmafReader would report them, so the
 * packager's rules can be driven frame-exactly (real ffmpeg bytes are covered by llhlsCmafReader.test.ts and
 * test/integration/llhlsFfmpeg.test.ts).
 */
import type { Fragment, InitSection } from '../../server/llhls/cmafTypes.js';
import { RenditionPackager, type PackagerOptions } from '../../server/llhls/RenditionPackager.js';

export const TIMESCALE = 90_000;

export function fakeInit(tag = 0): InitSection {
  const track = { trackId: 1, timescale: TIMESCALE, handler: 'vide', defaultSampleDuration: 3000, defaultSampleFlags: 0, codec: 'avc1.4d401f', width: 1280, height: 720 };
  return { bytes: Uint8Array.of(0x69, tag), tracks: [track], primary: track };
}

/** A clock for one rendition: successive fragments with contiguous decode times. */
export class FakeEncoder {
  decodeTime = 0;
  #n = 0;
  fragment(seconds: number, keyframe: boolean): Fragment {
    const duration = Math.round(seconds * TIMESCALE);
    const primary = { trackId: 1, decodeTime: this.decodeTime, duration, sampleCount: Math.round(seconds * 30), startsWithKeyframe: keyframe };
    this.decodeTime += duration;
    this.#n += 1;
    return { bytes: Uint8Array.of(this.#n & 0xff, (this.#n >> 8) & 0xff), tracks: [primary], primary, timescale: TIMESCALE };
  }
}

/** Feeds `segments` GOPs of `partsPerSegment` × `part` seconds (a keyframe opening each GOP). */
export function feedGops(p: RenditionPackager, enc: FakeEncoder, segments: number, partsPerSegment = 5, part = 0.2): void {
  for (let s = 0; s < segments; s++) {
    for (let i = 0; i < partsPerSegment; i++) p.pushFragment(enc.fragment(part, i === 0));
  }
}

export const CLOCK = Date.UTC(2026, 10, 30, 12, 0, 0);

export function makePackager(over: Partial<PackagerOptions> = {}): { p: RenditionPackager; enc: FakeEncoder } {
  const p = new RenditionPackager({ name: 'r0', now: () => CLOCK, ...over });
  p.pushInit(fakeInit());
  return { p, enc: new FakeEncoder() };
}
