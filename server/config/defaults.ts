/** Every default value of OnAir's configuration, in one place (documented in .env.example). */
import os from 'node:os';

export const DEFAULTS = {
  host: '0.0.0.0',
  port: 8080,
  dataDir: './data',
  announcedIp: '127.0.0.1',
  rtcListenIp: '0.0.0.0',
  rtcPort: 40000,
  workers: Math.max(1, os.availableParallelism()),
  adminUser: 'admin',
  logLevel: 'info',
  reconnectGraceMs: 15_000,
  hlsLadder: '1080,720,480,360',
  hlsSegmentSeconds: 1,
  /**
   * libx264 preset of the HLS ladder. superfast, not veryfast: 18 % less CPU for the 3-rung ladder (10 s of
   * 720p: 5.1 vs 6.3 s of CPU), and the headroom is what lets ffmpeg drain its input after a slow start on a
   * busy machine instead of staying seconds behind (bench/NOTES.md, HLS: glass-to-glass p50 0.74–0.77 s vs
   * 1.0–3.3 s at load 4–7).
   */
  hlsPreset: 'superfast',
  /** LL-HLS part length, ms: players stay 3 parts behind the newest (PART-HOLD-BACK). */
  hlsPartMs: 200,
  /** Segments in a live playlist's window. */
  hlsLiveWindow: 6,
  /** How far back viewers may seek in a live stream (Standard/HLS mode), minutes; 0: no rewind. */
  dvrMinutes: 30,
  /** Local UDP ports ffmpeg receives RTP on (pairs). */
  hlsPortMin: 30000,
  hlsPortMax: 31000,
  /** WebRTC viewers per stream before new viewers are sent to HLS. */
  maxWebrtcViewers: 500,
  /**
   * Signaling sockets open at once from one client address. Every viewer page holds one, so an office or a
   * school behind one NAT address needs as many as it has people watching: 200 covers a large office watching
   * together, while one attacker's address is held to 200 sockets: about 5 MB of server memory (an idle
   * viewer socket costs ~26 KiB of RSS, `npm run bench -- --only=signaling`). An all-hands behind one address
   * needs it raised.
   */
  maxSocketsPerAddress: 200,
  /**
   * Chat messages per second from one client address (bursts of 3×): a classroom behind one NAT chatting
   * briskly stays under it, one address with many sockets cannot flood a chat.
   */
  chatMessagesPerAddress: 10,
  /** Lifetime of API access tokens. */
  accessTokenTtlSeconds: 12 * 3600,
  /** Lifetime of viewer tokens for private streams. */
  viewerTokenTtlSeconds: 24 * 3600,
  /** Streams one user may create: a burst of this many, then this many a minute. */
  streamCreatesPerMinute: 20,
  /** Largest JSON body the API accepts, bytes. */
  jsonBodyLimit: 64 * 1024,
  /** Largest request body any route takes (JSON, SDP offers), bytes: a larger declared length is refused at once. */
  maxBodyBytes: 64 * 1024,
} as const;
