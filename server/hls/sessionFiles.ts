/**
 * A session's folder: <hlsRoot>/<streamId>/<sessionId>/ with one sub-folder per ffmpeg run (e0, e1, …) and
 * session.json describing them. Everything the HTTP side serves once a session ended is derived from these
 * files, so a recording plays the same after a restart as while live.
 *
 * Two formats:
 * - 'fmp4' (every session since LL-HLS): the media is in the session folder itself, as LiveLadder writes it
 *   (r<i>_i<n>.mp4 inits, r<i>_s<msn>.m4s segments, r<i>.jsonl segment journals); e<k>/ holds only the
 *   run's input.sdp; session.json carries the variants (codecs, resolution) of the master playlist. The
 *   recording's playlists are written from the journals (an ordinary VOD playlist, EXT-X-MAP per run).
 * - legacy (no `format`): ffmpeg's own HLS, .ts segments and playlists in e<k>/, composed per request.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { HistoryEntry } from '../llhls/RenditionPackager.js';
import { writeMasterPlaylist, writeVodPlaylist, type Variant } from '../llhls/playlistWriter.js';
import { composeMediaPlaylist, parseMediaPlaylist, playlistDuration, rewriteMaster, type MediaPlaylist } from './playlists.js';
import { readJournalFile } from '../llhls/journal.js';

export interface SessionManifest {
  streamId: string;
  sessionId: string;
  /** Epoch folders, in order. */
  epochs: string[];
  /** Heights of the renditions, r0 first. */
  renditions: number[];
  segmentSeconds: number;
  ended: boolean;
  /** 'fmp4': LL-HLS session (see above); absent: a legacy .ts session. */
  format?: 'fmp4';
  /** fmp4: the master playlist's variants, once every rendition had an init segment. */
  variants?: Variant[];
}

/** An fmp4 session's segments of rendition i, from its journal (a torn last line, after a crash, is skipped). */
export function readJournal(dir: string, rendition: number): HistoryEntry[] {
  return readJournalFile(path.join(dir, `r${rendition}.jsonl`));
}

/** Prefixes every URI line of a playlist (the live master at /hls/:streamId/ names "<sessionId>/r0.m3u8"). */
export const prefixUris = (text: string, prefix: string): string =>
  prefix ? text.split('\n').map((l) => (l && !l.startsWith('#') ? `${prefix}${l}` : l)).join('\n') : text;

export const MANIFEST = 'session.json';

export function readManifest(dir: string): SessionManifest | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, MANIFEST), 'utf8')) as SessionManifest;
  } catch {
    return undefined;
  }
}

export function writeManifest(dir: string, m: SessionManifest): void {
  const tmp = path.join(dir, `${MANIFEST}.tmp`);
  fs.writeFileSync(tmp, JSON.stringify(m));
  fs.renameSync(tmp, path.join(dir, MANIFEST));
}

function readEpochPlaylist(dir: string, epoch: string, rendition: number): MediaPlaylist {
  try {
    return parseMediaPlaylist(fs.readFileSync(path.join(dir, epoch, `r${rendition}.m3u8`), 'utf8'));
  } catch {
    return { targetDuration: 1, segments: [], ended: false };
  }
}

/** A rendition's playlist: a live window while live (`window` segments), the whole session once ended. */
export function renditionPlaylist(dir: string, m: SessionManifest, rendition: number, opts: { window?: number | undefined; query?: string }): string {
  if (m.format === 'fmp4') {
    const query = opts.query?.replace(/^\?/, '');
    return writeVodPlaylist(`r${rendition}`, readJournal(dir, rendition), query ? { query } : {});
  }
  const epochs = m.epochs.map((e) => ({ dir: e, playlist: readEpochPlaylist(dir, e, rendition) }));
  return composeMediaPlaylist({ epochs, window: opts.window, ended: m.ended, query: opts.query ?? '' });
}

/** The master playlist of a session, from the newest epoch's ffmpeg master that exists. */
export function masterPlaylist(dir: string, m: SessionManifest, prefix = '', query = ''): string | undefined {
  if (m.format === 'fmp4') {
    if (!m.variants?.length) return undefined;
    const q = query.replace(/^\?/, '');
    return prefixUris(writeMasterPlaylist(m.variants, q ? { query: q } : {}), prefix);
  }
  for (const e of [...m.epochs].reverse()) {
    try {
      return rewriteMaster(fs.readFileSync(path.join(dir, e, 'master.m3u8'), 'utf8'), prefix, query);
    } catch {
      /* this epoch has not written its master yet */
    }
  }
  return undefined;
}

/** Duration (rendition 0) and bytes on disk of a session. */
export function sessionStats(dir: string, m: SessionManifest): { durationSeconds: number; sizeBytes: number } {
  const durationSeconds = m.format === 'fmp4'
    ? readJournal(dir, 0).reduce((t, h) => t + h.duration, 0)
    : m.epochs.reduce((t, e) => t + playlistDuration(readEpochPlaylist(dir, e, 0)), 0);
  let sizeBytes = 0;
  const walk = (d: string) => {
    for (const ent of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, ent.name);
      if (ent.isDirectory()) walk(p);
      else sizeBytes += fs.statSync(p).size;
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return { durationSeconds: Math.round(durationSeconds * 10) / 10, sizeBytes };
}

/**
 * Below this, a session is no recording: ffmpeg stopped before its first full segment may still write one
 * of a few frames (measured: 0 s), which would be listed as a blank 0:00 card.
 */
export const MIN_RECORDING_SECONDS = 0.5;

/** Whether a session is worth keeping as a recording: a master playlist and at least MIN_RECORDING_SECONDS. */
export function hasMedia(dir: string, m: SessionManifest): boolean {
  return masterPlaylist(dir, m) !== undefined && sessionStats(dir, m).durationSeconds >= MIN_RECORDING_SECONDS;
}
