/**
 * Reads what the packager needs from complete `moov` and `moof` boxes, with mp4box (GPAC's maintained
 * parser) doing the field-level work (box versions, optional fields by flag).
 *
 * parseInit(ftyp+moov bytes) → tracks (track id, `mdhd` timescale, `hdlr` type, `trex` defaults).
 * parseFragment(moof bytes, init) → per track: `tfdt` decode time, summed `trun` durations, sample count and
 * whether the first sample is a sync sample. Defaults resolve as ISO/IEC 14496-12 says: `trun` per-sample
 * value, else `trun` first-sample flags (flags only), else `tfhd` default, else the init's `trex` default.
 *
 * Pure functions: each call parses one box in a fresh mp4box ISOFile, which keeps nothing afterwards.
 *
 * Guard: corrupt boxes make mp4box throw TypeErrors and RangeErrors from deep inside (or log "[BoxParser]" to
 * stderr, its only log level below silence); every failure leaves here as a CmafError, so the caller has one
 * error type to handle for "ffmpeg sent bytes we cannot package".
 */
import { ISOFile, MP4BoxBuffer } from 'mp4box';
import { CmafError, type InitSection, type TrackFragmentInfo, type TrackInfo } from './cmafTypes.js';

// tfhd flags (ISO/IEC 14496-12 8.8.7)
const TFHD_DEFAULT_DURATION = 0x08;
const TFHD_DEFAULT_FLAGS = 0x20;
// trun flags (8.8.8)
const TRUN_FIRST_SAMPLE_FLAGS = 0x004;
const TRUN_SAMPLE_DURATION = 0x100;
const TRUN_SAMPLE_FLAGS = 0x400;
/** sample_is_non_sync_sample in the sample flags (8.8.3.1). */
const NON_SYNC = 0x00010000;

function parseBoxes(bytes: Uint8Array): ISOFile {
  // A copy of exactly these bytes (Buffer#slice would be a view of the whole pooled buffer).
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  const file = new ISOFile();
  file.appendBuffer(MP4BoxBuffer.fromArrayBuffer(copy.buffer, 0), true);
  file.flush();
  return file;
}

/** Runs `parse`, turning whatever mp4box throws on corrupt bytes into a CmafError. */
function guarded<T>(what: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof CmafError) throw error;
    throw new CmafError(`corrupt ${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

export function parseInit(bytes: Uint8Array): InitSection {
  return guarded('init segment', () => readInit(bytes));
}

export function parseFragment(moofBytes: Uint8Array, init: InitSection): TrackFragmentInfo[] {
  return guarded('moof', () => readFragment(moofBytes, init));
}

function readInit(bytes: Uint8Array): InitSection {
  const file = parseBoxes(bytes);
  const moov = file.moov;
  if (!moov || !Array.isArray(moov.traks) || moov.traks.length === 0) throw new CmafError('init segment without tracks');
  const trexs = moov.mvex?.trexs ?? [];
  const described = file.getInfo().tracks;
  const tracks: TrackInfo[] = moov.traks.map((trak) => {
    const trackId = trak.tkhd?.track_id;
    const timescale = trak.mdia?.mdhd?.timescale;
    if (!Number.isInteger(trackId) || !Number.isInteger(timescale) || !(timescale! > 0)) {
      throw new CmafError('track without tkhd track id or mdhd timescale');
    }
    const trex = trexs.find((t) => t.track_id === trackId);
    const info = described.find((t) => t.id === trackId);
    return {
      trackId: trackId!,
      timescale: timescale!,
      handler: trak.mdia.hdlr?.handler ?? '',
      defaultSampleDuration: trex?.default_sample_duration ?? 0,
      defaultSampleFlags: trex?.default_sample_flags ?? 0,
      codec: info?.codec ?? '',
      width: info?.video?.width ?? 0,
      height: info?.video?.height ?? 0,
    };
  });
  const primary = tracks.find((t) => t.handler === 'vide') ?? tracks[0]!;
  return { bytes, tracks, primary };
}

function readFragment(moofBytes: Uint8Array, init: InitSection): TrackFragmentInfo[] {
  const moof = parseBoxes(moofBytes).moofs[0];
  if (!moof || !Array.isArray(moof.trafs) || moof.trafs.length === 0) throw new CmafError('moof without traf');
  return moof.trafs.map((traf) => {
    const tfhd = traf.tfhd;
    if (!tfhd) throw new CmafError('traf without tfhd');
    const track = init.tracks.find((t) => t.trackId === tfhd.track_id);
    if (!track) throw new CmafError(`traf for track ${tfhd.track_id}, which the init segment does not have`);
    if (!traf.tfdt) throw new CmafError(`traf for track ${tfhd.track_id} without tfdt`);
    const defaultDuration = tfhd.flags & TFHD_DEFAULT_DURATION ? tfhd.default_sample_duration : track.defaultSampleDuration;
    const defaultFlags = tfhd.flags & TFHD_DEFAULT_FLAGS ? tfhd.default_sample_flags : track.defaultSampleFlags;
    let duration = 0;
    let sampleCount = 0;
    let firstFlags: number | undefined;
    for (const trun of traf.truns ?? []) {
      for (let i = 0; i < trun.sample_count; i++) {
        duration += trun.flags & TRUN_SAMPLE_DURATION ? (trun.sample_duration[i] ?? 0) : defaultDuration;
        if (sampleCount === 0 && i === 0) {
          if (trun.flags & TRUN_SAMPLE_FLAGS) firstFlags = trun.sample_flags[0];
          else if (trun.flags & TRUN_FIRST_SAMPLE_FLAGS) firstFlags = trun.first_sample_flags;
          else firstFlags = defaultFlags;
        }
      }
      sampleCount += trun.sample_count;
    }
    return {
      trackId: track.trackId,
      decodeTime: Number(traf.tfdt.baseMediaDecodeTime),
      duration,
      sampleCount,
      startsWithKeyframe: sampleCount > 0 && ((firstFlags ?? 0) & NON_SYNC) === 0,
    };
  });
}
