/**
 * HLS and recordings for every broadcast. `output(streamId)` is the broadcast output factory (Broadcasts calls
 * it once per new broadcast): it makes the broadcast's HlsBridge, which the broadcast then feeds and closes.
 * The service only keeps count of its bridges (for serving the live playlist, deletions and shutdown) and
 * never reaches back into the broadcasts.
 *
 * Lifetime: one per server. On start-up, ffmpeg processes a killed predecessor left behind are killed, and
 * recordings a crash of this node left `recording` are closed as `interrupted` (or removed when they have no
 * media): `recovered` resolves once that is done (app.ts awaits it before serving). Only this node's
 * recordings are listed (RecordingStore.unfinished): in a cluster the others' files are on other disks and
 * may still be being written. A session bridged now is never touched by the recovery (a broadcast that
 * started while it ran).
 * `close()` closes the bridges still open (normally the broadcasts' ends closed them already).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ID_PATTERN } from '../../shared/api.js';
import type { BroadcastOutput } from '../live/BroadcastOutput.js';
import type { Logger } from '../log/logger.js';
import type { RecordingRecord, RecordingStore } from '../store/sql/RecordingStore.js';
import { HlsBridge, type HlsSettings } from './HlsBridge.js';
import type { PortPool } from './PortPool.js';
import { killOrphanFfmpeg } from './orphanFfmpeg.js';
import { hasMedia, readManifest, sessionStats, writeManifest } from './sessionFiles.js';

/** deleteRecording refused: the recording is still being written. */
export class RecordingLiveError extends Error {
  override name = 'RecordingLiveError';
}

/** A recording became watchable, or was deleted (through deleteRecording); for webhooks. */
export type RecordingEvent = { type: 'ready'; recording: RecordingRecord } | { type: 'deleted'; recordingId: string; streamId: string };

export class HlsService {
  readonly root: string;
  /** The newest bridge of each stream (what /hls/:streamId/master.m3u8 serves). */
  readonly #live = new Map<string, HlsBridge>();
  /** Every bridge not closed yet, the newest and any still finishing (a restart may overlap an end). */
  readonly #open = new Set<HlsBridge>();
  readonly #recordings: RecordingStore;
  readonly #ports: PortPool;
  readonly #settings: HlsSettings;
  readonly #log: Logger;
  readonly #enabled: boolean;
  readonly #onRecording: ((event: RecordingEvent) => void) | undefined;
  #closed = false;
  /** Resolves when the recordings the previous run left open are closed (never rejects: failures are logged). */
  readonly recovered: Promise<void>;

  constructor(opts: {
    root: string;
    recordings: RecordingStore;
    ports: PortPool;
    settings: HlsSettings;
    logger: Logger;
    /** Off: no ffmpeg runs (ONAIR_HLS=off); recordings are still served. */
    enabled: boolean;
    /** Told when a recording is ready or deleted; must not throw (webhooks queue and return). */
    onRecording?: (event: RecordingEvent) => void;
  }) {
    this.root = opts.root;
    this.#recordings = opts.recordings;
    this.#ports = opts.ports;
    this.#settings = opts.settings;
    this.#log = opts.logger.child({ component: 'hls' });
    this.#enabled = opts.enabled;
    this.#onRecording = opts.onRecording;
    fs.mkdirSync(this.root, { recursive: true });
    const orphans = killOrphanFfmpeg(this.root);
    if (orphans.length) this.#log.warn({ pids: orphans }, 'killed ffmpeg processes left running by the previous run');
    this.recovered = this.#recoverUnfinished().catch((err: unknown) => this.#log.error({ err }, 'could not close the recordings the previous run left open'));
  }

  /** The HLS output of a new broadcast (undefined when HLS is off or the server is closing). */
  output(streamId: string): BroadcastOutput | undefined {
    if (this.#closed || !this.#enabled || !ID_PATTERN.test(streamId)) return undefined;
    const sessionId = crypto.randomBytes(9).toString('base64url');
    const bridge = new HlsBridge({
      dir: this.sessionDir(streamId, sessionId),
      streamId,
      sessionId,
      settings: this.#settings,
      ports: this.#ports,
      recordings: this.#recordings,
      logger: this.#log.child({ streamId, sessionId }),
    });
    this.#live.set(streamId, bridge);
    this.#open.add(bridge);
    void bridge.done.then(() => {
      this.#open.delete(bridge);
      if (this.#live.get(streamId) === bridge) this.#live.delete(streamId);
      // The bridge's close finished the recording: ready, or removed when it had no media.
      if (!this.#onRecording) return;
      this.#recordings
        .byId(sessionId)
        .then((recording) => {
          if (recording && recording.status === 'ready') this.#onRecording?.({ type: 'ready', recording });
        })
        .catch((err: unknown) => this.#log.error({ err, sessionId }, 'could not tell of the finished recording'));
    });
    return bridge;
  }

  /** The folder of a session; both ids are checked to be plain ids (no path can escape the root). */
  sessionDir(streamId: string, sessionId: string): string {
    if (!ID_PATTERN.test(streamId) || !ID_PATTERN.test(sessionId)) throw new Error('bad id');
    return path.join(this.root, streamId, sessionId);
  }

  /** The live session of a stream, if it is being bridged now. */
  liveSession(streamId: string): HlsBridge | undefined {
    return this.#live.get(streamId);
  }

  /** An open bridge (live, or finishing) of this session, if any. */
  openSession(streamId: string, sessionId: string): HlsBridge | undefined {
    for (const b of this.#open) if (b.streamId === streamId && b.sessionId === sessionId) return b;
    return undefined;
  }

  /** ffmpeg pids running now (for tests and metrics). */
  pids(): number[] {
    return [...this.#open].flatMap((b) => (b.pid ? [b.pid] : []));
  }

  get liveCount(): number {
    return this.#live.size;
  }

  /** Deletes a recording's files and row; RecordingLiveError while it is being written. */
  async deleteRecording(id: string, streamId: string): Promise<void> {
    for (const b of this.#open) if (b.sessionId === id) throw new RecordingLiveError('this recording is still live');
    fs.rmSync(this.sessionDir(streamId, id), { recursive: true, force: true });
    if (await this.#recordings.delete(id)) this.#onRecording?.({ type: 'deleted', recordingId: id, streamId });
  }

  /** Deletes every file of a stream (when the stream is deleted), once its bridges are closed. */
  async deleteStreamFiles(streamId: string): Promise<void> {
    if (!ID_PATTERN.test(streamId)) return;
    await Promise.all([...this.#open].filter((b) => b.streamId === streamId).map((b) => b.close('the stream was deleted')));
    fs.rmSync(path.join(this.root, streamId), { recursive: true, force: true });
  }

  /** No new bridges; the open ones finish. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#open].map((b) => b.close('the server is shutting down')));
  }

  async #recoverUnfinished(): Promise<void> {
    for (const r of await this.#recordings.unfinished()) {
      // A session being bridged now is this run's, not a leftover (see the header).
      if (this.openSession(r.streamId, r.id)) continue;
      const dir = this.sessionDir(r.streamId, r.id);
      const m = readManifest(dir);
      if (!m || !hasMedia(dir, m)) {
        fs.rmSync(dir, { recursive: true, force: true });
        await this.#recordings.delete(r.id);
        this.#log.warn({ recordingId: r.id, streamId: r.streamId }, 'recording left open by the previous run had no media: removed');
        continue;
      }
      if (!m.ended) writeManifest(dir, { ...m, ended: true });
      const stats = sessionStats(dir, m);
      await this.#recordings.finish(r.id, { status: 'interrupted', renditions: m.renditions, durationSeconds: stats.durationSeconds, sizeBytes: stats.sizeBytes });
      this.#log.warn({ recordingId: r.id, streamId: r.streamId }, 'recording left open by the previous run closed as interrupted');
    }
  }
}
