/**
 * Where a node finds the holder of HLS files (mediaProxy's MediaHolders), from the cluster's parts: its own
 * HLS service (live sessions, session folders on its disk), the origin leases and the registry in Redis, and
 * the recording's node from the catalogue.
 */
import fs from 'node:fs';
import type { HlsService } from '../hls/HlsService.js';
import type { MediaHolders } from './mediaProxy.js';
import type { NodeRegistry } from './NodeRegistry.js';
import type { OriginLeases } from './OriginLeases.js';

export interface MediaHolderParts {
  nodeId: string;
  hls: HlsService;
  leases: Pick<OriginLeases, 'current'>;
  registry: Pick<NodeRegistry, 'node'>;
  /** The node id the catalogue keeps for a recording (undefined: unknown, or no such recording). */
  recordingNode(recordingId: string): Promise<string | undefined>;
}

export function mediaHolders(p: MediaHolderParts): MediaHolders {
  return {
    selfId: p.nodeId,
    holdsLocally: (streamId, sessionId) =>
      sessionId === undefined ? !!p.hls.liveSession(streamId) : !!p.hls.openSession(streamId, sessionId) || fs.existsSync(p.hls.sessionDir(streamId, sessionId)),
    recordingNode: (id) => p.recordingNode(id),
    originNode: async (streamId) => (await p.leases.current(streamId))?.nodeId,
    nodeUrl: async (nodeId) => (await p.registry.node(nodeId))?.url,
  };
}
