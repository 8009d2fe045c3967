/**
 * WHIP ingest and WHEP playback as HTTP mounts for createHttpApp: `whipWhep(deps).mounts` in the mounts
 * list gives /whip and /whep. The sessions end with their broadcasts (WHIP: its transport is on the
 * broadcast's router; WHEP: the session is an output of the broadcast); `close()` at shutdown, after every
 * broadcast ended, closes whatever is left.
 */
import type { Router } from 'express';
import type { Tokens } from '../auth/tokens.js';
import type { Broadcasts } from '../live/Broadcasts.js';
import type { Logger } from '../log/logger.js';
import type { WorkerPool } from '../media/WorkerPool.js';
import type { StreamStore } from '../store/sql/StreamStore.js';
import type { UserStore } from '../store/sql/UserStore.js';
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
}

export function whipWhep(deps: WhipWhepDeps): { mounts: [string, Router][]; close(): void } {
  const ingest = new WhipIngest({ broadcasts: deps.broadcasts, rtpCapabilities: () => deps.pool.rtpCapabilities, logger: deps.logger });
  const playback = new WhepPlayback({ broadcasts: deps.broadcasts, pool: deps.pool, logger: deps.logger });
  return {
    mounts: [
      ['/whip', whipRoutes({ ingest, streams: deps.streams, users: deps.users, tokens: deps.tokens })],
      ['/whep', whepRoutes({ playback, streams: deps.streams, tokens: deps.tokens })],
    ],
    close: () => {
      ingest.close();
      playback.close();
    },
  };
}
