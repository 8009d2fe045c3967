/**
 * WHIP ingest and WHEP playback as HTTP mounts for createHttpApp: `...whipWhepMounts(deps)` in the mounts
 * list gives /whip and /whep. The sessions end with their broadcasts (Broadcasts' `ended`), so shutdown
 * needs nothing more than ending every broadcast.
 */
import type { Router } from 'express';
import type { Tokens } from '../auth/tokens.js';
import type { Broadcasts } from '../live/Broadcasts.js';
import type { Logger } from '../log/logger.js';
import type { WorkerPool } from '../media/WorkerPool.js';
import type { StreamStore } from '../store/StreamStore.js';
import type { UserStore } from '../store/UserStore.js';
import { WhepPlayback } from './WhepPlayback.js';
import { whepRoutes } from './whepRoutes.js';
import { WhipIngest } from './WhipIngest.js';
import { whipRoutes } from './whipRoutes.js';

export interface WhipWhepDeps {
  broadcasts: Broadcasts;
  pool: WorkerPool;
  streams: StreamStore;
  users: UserStore;
  tokens: Tokens;
  logger: Logger;
  /** WebRTC viewers per stream beyond which WHEP refuses new ones (503). */
  maxViewers: number;
}

export function whipWhepMounts(deps: WhipWhepDeps): [string, Router][] {
  const ingest = new WhipIngest({ broadcasts: deps.broadcasts, rtpCapabilities: () => deps.pool.rtpCapabilities, logger: deps.logger });
  const playback = new WhepPlayback({ broadcasts: deps.broadcasts, pool: deps.pool, logger: deps.logger, maxViewers: deps.maxViewers });
  return [
    ['/whip', whipRoutes({ ingest, streams: deps.streams, users: deps.users, tokens: deps.tokens })],
    ['/whep', whepRoutes({ playback, streams: deps.streams, tokens: deps.tokens })],
  ];
}
