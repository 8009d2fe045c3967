/**
 * Runs an HLS bridge for every live broadcast and turns each live session into a recording.
 * Listens to Broadcasts: producers appearing or changing (re)start the bridge's ffmpeg; the end of a broadcast
 * stops it and finishes the recording. On start-up, recordings a crash left open are closed as interrupted.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Broadcasts } from '../live/Broadcasts.js';
import type { Logger } from '../log/logger.js';
import type { RecordingStore } from '../store/RecordingStore.js';
import { HlsBridge, type HlsSettings } from './HlsBridge.js';
import type { PortPool } from './PortPool.js';
import { killOrphanFfmpeg } from './orphanFfmpeg.js';
import { readManifest, sessionStats, writeManifest } from './sessionFiles.js';

const SAFE = /^[A-Za-z0-9_-]{1,64}$/;

export class HlsService {
  readonly root: string;
  readonly #bridges = new Map<string, HlsBridge>();
  readonly #finishing = new Map<string, Promise<void>>();
  readonly #broadcasts: Broadcasts;
  readonly #recordings: RecordingStore;
  readonly #ports: PortPool;
  readonly #settings: HlsSettings;
  readonly #log: Logger;
  #closed = false;
  readonly #enabled: boolean;

  constructor(opts: {
    root: string;
    broadcasts: Broadcasts;
    recordings: RecordingStore;
    ports: PortPool;
    settings: HlsSettings;
    logger: Logger;
    /** Off: no ffmpeg runs (ONAIR_HLS=off); recordings are still served. */
    enabled: boolean;
  }) {
    this.root = opts.root;
    this.#broadcasts = opts.broadcasts;
    this.#recordings = opts.recordings;
    this.#ports = opts.ports;
    this.#settings = opts.settings;
    this.#log = opts.logger.child({ component: 'hls' });
    this.#enabled = opts.enabled;
    fs.mkdirSync(this.root, { recursive: true });
    const orphans = killOrphanFfmpeg(this.root);
    if (orphans.length) this.#log.warn({ pids: orphans }, 'killed ffmpeg processes left running by the previous run');
    this.#recoverUnfinished();
    opts.broadcasts.on('producers', ({ streamId, producers }) => {
      if (producers.some((p) => p.kind === 'video')) this.#ensure(streamId);
    });
    // Stop ffmpeg before the router closes (while media flows, ffmpeg honours SIGINT and ends its segment).
    opts.broadcasts.on('started', ({ streamId, broadcast }) => {
      broadcast.addFinisher(() => this.#finishOnce(streamId));
    });
    opts.broadcasts.on('ended', ({ streamId }) => void this.#finishOnce(streamId));
  }

  /** Finishes a stream's session once, whoever asks first (the broadcast's end, or its 'ended' event). */
  #finishOnce(streamId: string): Promise<void> {
    const pending = this.#finishing.get(streamId);
    if (pending) return pending;
    if (!this.#bridges.has(streamId)) return Promise.resolve();
    const done = this.#finish(streamId, 'ready').finally(() => this.#finishing.delete(streamId));
    this.#finishing.set(streamId, done);
    return done;
  }

  /** The folder of a session; both ids are checked to be plain names (no path can escape the root). */
  sessionDir(streamId: string, sessionId: string): string {
    if (!SAFE.test(streamId) || !SAFE.test(sessionId)) throw new Error('bad id');
    return path.join(this.root, streamId, sessionId);
  }

  /** The live session of a stream, if it is being bridged now. */
  liveSession(streamId: string): HlsBridge | undefined {
    return this.#bridges.get(streamId);
  }

  /** ffmpeg pids running now (for tests and metrics). */
  pids(): number[] {
    return [...this.#bridges.values()].flatMap((b) => (b.pid ? [b.pid] : []));
  }

  get liveCount(): number {
    return this.#bridges.size;
  }

  /** Deletes a recording's files and row. */
  deleteRecording(id: string, streamId: string): void {
    if (this.#bridges.get(streamId)?.manifest.sessionId === id) throw new Error('this recording is still live');
    fs.rmSync(this.sessionDir(streamId, id), { recursive: true, force: true });
    this.#recordings.delete(id);
  }

  /** Deletes every file of a stream (when the stream is deleted), after its live session (if any) stopped. */
  async deleteStreamFiles(streamId: string): Promise<void> {
    if (!SAFE.test(streamId)) return;
    await this.#finishing.get(streamId);
    fs.rmSync(path.join(this.root, streamId), { recursive: true, force: true });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#bridges.keys()].map((id) => this.#finishOnce(id)));
    await Promise.all(this.#finishing.values());
  }

  #ensure(streamId: string): void {
    if (this.#closed || !this.#enabled) return;
    let bridge = this.#bridges.get(streamId);
    if (!bridge) {
      const sessionId = crypto.randomBytes(9).toString('base64url');
      this.#recordings.start(sessionId, streamId);
      bridge = new HlsBridge({
        dir: this.sessionDir(streamId, sessionId),
        streamId,
        sessionId,
        settings: this.#settings,
        ports: this.#ports,
        logger: this.#log.child({ streamId, sessionId }),
        source: () => {
          const b = this.#broadcasts.get(streamId);
          if (!b || b.ended) return undefined;
          const video = b.producerOfKind('video');
          const height = video?.appData.height;
          return { router: b.router, video, audio: b.producerOfKind('audio'), videoHeight: typeof height === 'number' ? height : undefined };
        },
      });
      this.#bridges.set(streamId, bridge);
      this.#log.info({ streamId, sessionId }, 'HLS session started');
    }
    void bridge.refresh();
  }

  async #finish(streamId: string, status: 'ready' | 'interrupted'): Promise<void> {
    const bridge = this.#bridges.get(streamId);
    if (!bridge) return;
    this.#bridges.delete(streamId);
    await bridge.stop();
    const stats = sessionStats(bridge.dir, bridge.manifest);
    this.#recordings.finish(bridge.manifest.sessionId, { status, durationSeconds: stats.durationSeconds, renditions: bridge.manifest.renditions, sizeBytes: stats.sizeBytes });
    this.#log.info({ streamId, sessionId: bridge.manifest.sessionId, ...stats }, 'HLS session ended; recording ready');
  }

  #recoverUnfinished(): void {
    for (const r of this.#recordings.unfinished()) {
      const dir = this.sessionDir(r.streamId, r.id);
      const m = readManifest(dir);
      if (m && !m.ended) writeManifest(dir, { ...m, ended: true });
      const stats = m ? sessionStats(dir, m) : { durationSeconds: 0, sizeBytes: 0 };
      this.#recordings.finish(r.id, { status: 'interrupted', renditions: m?.renditions ?? [], ...stats });
      this.#log.warn({ recordingId: r.id, streamId: r.streamId }, 'recording left open by the previous run closed as interrupted');
    }
  }
}
