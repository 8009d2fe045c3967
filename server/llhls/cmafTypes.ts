/**
 * The values the CMAF reader hands to the packager. Plain data, no behaviour: the reader makes them from the
 * bytes ffmpeg writes, the packager and tests consume them.
 */

/** One track of an init segment (`moov/trak`), with the `trex` defaults a fragment may fall back on. */
export interface TrackInfo {
  trackId: number;
  /** `mdhd` timescale: ticks per second of this track's decode times and durations. */
  timescale: number;
  /** `hdlr` handler type: 'vide', 'soun', … */
  handler: string;
  defaultSampleDuration: number;
  defaultSampleFlags: number;
  /** RFC 6381 codec string (for CODECS in the master playlist), e.g. 'avc1.4d401f', 'mp4a.40.2'; '' if unknown. */
  codec: string;
  /** Video size in pixels (0 for other tracks). */
  width: number;
  height: number;
}

/** An init segment (`ftyp` + `moov`, as ffmpeg writes them): the bytes an `EXT-X-MAP` points at. */
export interface InitSection {
  bytes: Uint8Array;
  tracks: TrackInfo[];
  /** The track whose times and keyframes drive parts and segments: the first video track, else the first. */
  primary: TrackInfo;
}

/** What one `traf` says about its track in one fragment. */
export interface TrackFragmentInfo {
  trackId: number;
  /** `tfdt` baseMediaDecodeTime, in the track's timescale. */
  decodeTime: number;
  /** Sum of the sample durations, in the track's timescale. */
  duration: number;
  sampleCount: number;
  /** Whether the first sample is a sync sample (a keyframe for video). */
  startsWithKeyframe: boolean;
}

/** One CMAF fragment: `moof` + `mdat` (with any `styp`/`prft`/`emsg` that came just before the `moof`). */
export interface Fragment {
  bytes: Uint8Array;
  tracks: TrackFragmentInfo[];
  /** The primary track's entry (see InitSection.primary). */
  primary: TrackFragmentInfo;
  /** The primary track's timescale, so durations can be read without the init. */
  timescale: number;
}

export type CmafEvent = { type: 'init'; init: InitSection } | { type: 'fragment'; fragment: Fragment };

/** Bytes that are not the fMP4 a fragmenting ffmpeg writes. */
export class CmafError extends Error {
  override readonly name = 'CmafError';
}
