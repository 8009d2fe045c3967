/**
 * The last stream health report of each encoder broadcast on this node (server/ingest/health: measured from
 * the producers' stats every 2 s), kept so the admin console shows a live stream's bitrate without measuring
 * it a second time. Fed with every report on its way to the owner's studio; a report with state 'ended', and
 * the broadcast's end, forget the stream (so the map never holds more than the live broadcasts).
 * A studio broadcast has none: its page measures its own sending, the server does not (null in the console).
 */
import type { AdminBitrate } from '../../shared/adminApi.js';
import type { IngestHealthEvent } from '../../shared/ingestHealth.js';

export class IngestBitrates {
  readonly #latest = new Map<string, AdminBitrate>();

  record(e: IngestHealthEvent): void {
    if (e.state === 'ended') return void this.#latest.delete(e.streamId);
    this.#latest.set(e.streamId, { source: e.source, videoKbps: e.measured.videoKbps, audioKbps: e.measured.audioKbps, measuredAt: e.at });
  }

  forget(streamId: string): void {
    this.#latest.delete(streamId);
  }

  /** The last measurement of a live encoder broadcast; null for a studio broadcast or before the first poll. */
  of(streamId: string): AdminBitrate | null {
    return this.#latest.get(streamId) ?? null;
  }

  get size(): number {
    return this.#latest.size;
  }
}
