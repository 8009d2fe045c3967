/** What the HTTP routes need from the rest of OnAir: narrow interfaces, so tests can stand in for any part. */
import type { ViewersByDelivery } from '../../shared/api.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../log/logger.js';
import type { Tokens } from '../auth/tokens.js';
import type { LoginAttempts, RateLimit } from '../limits/RateLimit.js';
import type { UserStore } from '../store/sql/UserStore.js';
import type { StreamStore } from '../store/sql/StreamStore.js';
import type { Metrics } from '../metrics/Metrics.js';
import type { ProxyTrust } from './clientAddress.js';

/** What the catalogue needs to know about live broadcasts. */
export interface LiveState {
  viewerCount(streamId: string): number;
  /** Ends a live broadcast of this stream, if any: tells its viewers, closes its media. */
  endBroadcast(streamId: string, reason: string): Promise<void>;
  /** Called after a stream's metadata changed, so live viewers see it. */
  metadataChanged(streamId: string): void;
}

/** The live state with the audience split (Broadcasts knows the seats; the HLS sessions live beside it). */
export interface LiveAudience extends LiveState {
  /** This node's viewers of the stream by delivery (server/admin/audienceSplit.ts `streamSplit`). */
  viewersByDelivery(streamId: string): ViewersByDelivery;
}

export interface Services {
  config: Config;
  logger: Logger;
  tokens: Tokens;
  /** Failed logins slow down per username (a few free tries) and per client address (more, for shared NATs). */
  /** Which hops may name the client (loopback + ONAIR_TRUSTED_PROXIES): every per-address limit reads it. */
  trustProxy: ProxyTrust;
  loginThrottle: { byUser: LoginAttempts; byAddress: LoginAttempts };
  /** Stream creations per user id (each one is a database row, a key, HLS folders later). */
  streamCreation: RateLimit;
  users: UserStore;
  streams: StreamStore;
  live: LiveAudience;
  metrics: Metrics;
  /** Removes a deleted stream's media files (HLS, recordings). */
  deleteStreamMedia(streamId: string): Promise<void>;
  /** Is the server ready to take broadcasts (workers up, the catalogue answers)? */
  readiness(): Promise<{ ready: boolean; checks: Record<string, boolean> }>;
}
