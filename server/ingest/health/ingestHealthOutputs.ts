/**
 * The broadcast output factory of stream health (Broadcasts calls it once per new broadcast): one
 * IngestHealthMonitor each, whose reports go to the sockets of the stream's owner (and admins) on this node
 * as `ingest:health`, wherever their page is (the studio of an encoder's stream is in no stream room: it does
 * not publish). The owner is looked up once per broadcast.
 */
import type { IngestHealthEvent } from '../../../shared/ingestHealth.js';
import { canManage } from '../../auth/access.js';
import type { OutputFactory } from '../../live/Broadcasts.js';
import type { Logger } from '../../log/logger.js';
import type { OnAirIo } from '../../signaling/SignalingServer.js';
import { IngestHealthMonitor, type HealthSettings } from './IngestHealthMonitor.js';

export interface IngestHealthDeps {
  /** The stream's owner (a store read: awaited, sync or async store alike). */
  ownerOf: (streamId: string) => Promise<string | undefined> | string | undefined;
  push: (ownerId: string, e: IngestHealthEvent) => void;
  logger: Logger;
  settings?: HealthSettings;
}

export function ingestHealthOutputs(deps: IngestHealthDeps): OutputFactory {
  const log = deps.logger.child({ component: 'ingest-health' });
  return (streamId) => {
    const owner = Promise.resolve()
      .then(() => deps.ownerOf(streamId))
      .catch((err: unknown) => {
        log.warn({ err, streamId }, 'stream owner not found: health not pushed');
        return undefined;
      });
    return new IngestHealthMonitor(streamId, {
      ...(deps.settings ? { settings: deps.settings } : {}),
      logger: log.child({ streamId }),
      report: (e) =>
        void owner.then((ownerId) => {
          if (ownerId !== undefined) deps.push(ownerId, e);
        }),
    });
  };
}

/** Emits `ingest:health` to every socket of this node whose user may manage the stream. */
export function pushIngestHealth(io: OnAirIo, ownerId: string, e: IngestHealthEvent): void {
  for (const socket of io.sockets.sockets.values()) {
    if (canManage(socket.data.user, { ownerId })) socket.emit('ingest:health', e);
  }
}
