/**
 * A session's folder: <hlsRoot>/<streamId>/<sessionId>/ with one sub-folder per ffmpeg run (e0, e1, …) and
 * session.json describing them. Everything the HTTP side serves is derived from these files, so a recording
 * plays the same after a restart as while live.
 */
import fs from 'node:fs';
import path from 'node:path';
import { composeMediaPlaylist, parseMediaPlaylist, playlistDuration, rewriteMaster, type MediaPlaylist } from './playlists.js';

export interface SessionManifest {
  streamId: string;
  sessionId: string;
  /** Epoch folders, in order. */
  epochs: string[];
  /** Heights of the renditions, r0 first. */
  renditions: number[];
  segmentSeconds: number;
  ended: boolean;
}

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
  const epochs = m.epochs.map((e) => ({ dir: e, playlist: readEpochPlaylist(dir, e, rendition) }));
  return composeMediaPlaylist({ epochs, window: opts.window, ended: m.ended, query: opts.query ?? '' });
}

/** The master playlist of a session, from the newest epoch's ffmpeg master that exists. */
export function masterPlaylist(dir: string, m: SessionManifest, prefix = '', query = ''): string | undefined {
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
  const durationSeconds = m.epochs.reduce((t, e) => t + playlistDuration(readEpochPlaylist(dir, e, 0)), 0);
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
