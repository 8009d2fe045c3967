/**
 * OnAir's composition root: opens the store, starts the worker pool, wires the live layer, signaling and
 * HTTP, and closes them in order. `startOnAir` is what `main.ts` runs and what integration tests start.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { RequestHandler, Router } from 'express';
import type { Config } from './config/config.js';
import type { Logger } from './log/logger.js';
import { loadOrCreateSecret } from './auth/secretFile.js';
import { LoginThrottle } from './auth/LoginThrottle.js';
import { DEFAULTS } from './config/defaults.js';
import { KeyedRateLimiter } from './limits/KeyedRateLimiter.js';
import { Tokens } from './auth/tokens.js';
import { answerClientError } from './http/clientError.js';
import { proxyTrust } from './http/clientAddress.js';
import { createHttpApp } from './http/httpApp.js';
import type { Services } from './http/Services.js';
import { Broadcasts } from './live/Broadcasts.js';
import { ClusterLive } from './cluster/ClusterLive.js';
import { WorkerPool } from './media/WorkerPool.js';
import { Metrics } from './metrics/Metrics.js';
import { bootstrapAdmin } from './store/bootstrapAdmin.js';
import { openCatalogue, type Catalogue } from './store/sql/catalogue.js';
import { SignalingServer } from './signaling/SignalingServer.js';
import { pageRoutes } from './http/routes/pageRoutes.js';
import { oembedRoutes } from './http/routes/oembedRoutes.js';
import { catalogueFromStores } from './sharing/catalogueFromStores.js';
import { adminRoutes } from './admin/adminRoutes.js';
import { LiveRegistry } from './admin/LiveRegistry.js';
import { nodeSplit, streamSplit } from './admin/audienceSplit.js';
import { IngestBitrates } from './admin/IngestBitrates.js';
import { audienceRoutes } from './http/routes/audienceRoutes.js';
import { whipWhep } from './whip/mounts.js';
import { mediaRoutes } from './http/routes/mediaRoutes.js';
import { recordingRoutes } from './http/routes/recordingRoutes.js';
import { HlsService } from './hls/HlsService.js';
import { hlsRoutes } from './hls/hlsRoutes.js';
import { mediaHolders } from './cluster/mediaHolders.js';
import { mediaProxy } from './cluster/mediaProxy.js';
import { HlsViewerSessions } from './hls/HlsViewerSessions.js';
import { PortPool } from './hls/PortPool.js';
import { ChatService } from './chat/ChatService.js';
import { chatLimits } from './chat/chatLimits.js';
import { chatRoutes } from './http/routes/chatRoutes.js';
import { IngestServers } from './ingest/IngestServers.js';
import { ingestHealthOutputs, pushIngestHealth } from './ingest/health/ingestHealthOutputs.js';
import { destinationRoutes } from './http/routes/destinationRoutes.js';
import { KeySealer } from './restream/KeySealer.js';
import { Webhooks } from './webhooks/Webhooks.js';
import { WEBHOOK_DEFAULTS } from './webhooks/webhookConfig.js';
import { webhooksFromLive, webhooksFromRecordings, webhooksFromRestream } from './webhooks/webhookSources.js';
import { webhookRoutes } from './http/routes/webhookRoutes.js';
import { RestreamService } from './restream/RestreamService.js';
import { pushRestreamState, shareRestreamState } from './restream/pushRestreamState.js';
import { RedisShared, type SharedLimits } from './cluster/RedisShared.js';
import type { RestreamStateEvent } from '../shared/restream.js';
import { RESTREAM_SETTINGS } from './restream/restreamSettings.js';

export interface OnAir {
  /** http://host:port the server listens on. */
  url: string;
  port: number;
  services: Services;
  pool: WorkerPool;
  broadcasts: Broadcasts;
  signaling: SignalingServer;
  chat: ChatService;
  hls: HlsService;
  /** HLS playback sessions counted into the audience (server/hls/HlsViewerSessions.ts). */
  hlsViewers: HlsViewerSessions;
  /** RTMP/SRT ingest listeners and their bound ports. */
  ingest: IngestServers;
  /** Restreams to other platforms (server/restream). */
  restream: RestreamService;
  /** Webhook deliveries (server/webhooks); `emit` for producers of events. */
  webhooks: Webhooks;
  /** Cluster mode's live parts (server/cluster/ClusterLive.ts); undefined on one machine. */
  cluster: ClusterLive | undefined;
  /** The catalogue (server/store/sql): SQLite in the data dir, or PostgreSQL with ONAIR_DATABASE_URL. */
  catalogue: Catalogue;
  close(): Promise<void>;
}

export async function startOnAir(config: Config, logger: Logger): Promise<OnAir> {
  fs.mkdirSync(config.dataDir, { recursive: true });
  const catalogue = await openCatalogue({
    databaseUrl: config.databaseUrl,
    sqliteFile: path.join(config.dataDir, 'onair.db'),
    // A node ends and recovers only its own live streams and recordings (one machine: 'local').
    nodeId: config.cluster?.nodeId,
    onPoolError: (err) => logger.warn({ err }, 'a pooled PostgreSQL connection failed (it is replaced on next use)'),
  });
  const { users, streams, recordings } = catalogue;
  const interrupted = await streams.endAllLive().catch(async (err: unknown) => {
    await catalogue.close();
    throw err;
  });
  if (interrupted > 0) logger.warn({ streams: interrupted }, 'streams left live by the previous run were marked ended');
  await bootstrapAdmin(users, config.adminUser, config.adminPassword, logger).catch(async (err: unknown) => {
    await catalogue.close();
    throw err;
  });

  const tokens = new Tokens(loadOrCreateSecret(config.dataDir, 'jwt-secret', config.jwtSecret), {
    accessSeconds: config.accessTokenTtlSeconds,
    viewerSeconds: config.viewerTokenTtlSeconds,
  });

  let pool: WorkerPool;
  try {
    pool = await WorkerPool.create({
      size: config.workers,
      listenIp: config.rtcListenIp,
      announcedIp: config.announcedIp,
      firstPort: config.rtcPort,
      logger: logger.child({ component: 'workers' }),
    });
  } catch (err) {
    await catalogue.close();
    throw err;
  }
  const broadcasts = new Broadcasts({ pool, streams, logger, graceMs: config.reconnectGraceMs, maxWebrtcViewers: config.maxWebrtcViewers });
  // Cluster mode (docs/cluster.md): origin leases, relays of streams live on other nodes, the internal API.
  const cluster = config.cluster
    ? await ClusterLive.start({ settings: config.cluster, broadcasts, pool, graceMs: config.reconnectGraceMs, maxWebrtcViewers: config.maxWebrtcViewers, logger }).catch(
        async (err: unknown) => {
          pool.close();
          await catalogue.close();
          throw err;
        },
      )
    : undefined;
  // The limits every node enforces (in memory on one machine; in cluster mode, counted by every node in Redis).
  const limits: SharedLimits = {
    streamCreation: { rate: DEFAULTS.streamCreatesPerMinute / 60, burst: DEFAULTS.streamCreatesPerMinute },
    chatPerAddress: chatLimits(config.chatMessagesPerAddress).perAddress,
    loginFreeAttempts: { byUser: 3, byAddress: 20 },
    maxSocketsPerAddress: config.maxSocketsPerAddress,
  };
  // Cluster mode: socket.io across nodes, one audience, shared limits (server/cluster/RedisShared.ts).
  const shared = cluster
    ? await RedisShared.start({ redis: cluster.node.redis, registry: cluster.node.registry, limits, logger }).catch(async (err: unknown) => {
        await cluster.close();
        pool.close();
        await catalogue.close();
        throw err;
      })
    : undefined;
  if (shared) broadcasts.useAudience(shared.audience);
  // Webhooks: events queued in the database (a restart resumes them), delivered signed, with retries.
  const webhookStore = catalogue.webhooks;
  const webhooks = new Webhooks({
    ...WEBHOOK_DEFAULTS,
    store: webhookStore,
    ownerOf: async (streamId) => (await streams.byId(streamId))?.ownerId,
    serverHook: config.webhooks.url && config.webhooks.secret ? { url: config.webhooks.url, secret: config.webhooks.secret } : undefined,
    allowPrivate: config.webhooks.allowPrivate,
    retry: { firstMs: config.webhooks.retryFirstMs, maxMs: WEBHOOK_DEFAULTS.retryMaxMs, windowMs: WEBHOOK_DEFAULTS.retryWindowMs },
    logger,
  });
  webhooksFromLive(broadcasts, streams, webhooks, logger);
  // Local RTP ports ffmpeg receives on: HLS bridges and restreams.
  const rtpPorts = new PortPool(config.hls.portMin, config.hls.portMax, { shuffleStart: true });
  const hls = new HlsService({
    root: path.join(config.dataDir, 'hls'),
    recordings,
    ports: rtpPorts,
    enabled: config.hls.enabled,
    settings: {
      ladder: config.hls.ladder,
      segmentSeconds: config.hls.segmentSeconds,
      partSeconds: config.hls.partSeconds,
      preset: config.hls.preset,
      fps: 30,
      thumbnailEverySeconds: 30,
      // ffmpeg ends by itself 2 s after its RTP stopped (~4 s when none ever came); a SIGINT after the media
      // stopped still ends it cleanly within those 2 s, so SIGKILL comes only after 3 s.
      inputTimeoutSeconds: 2,
      killAfterMs: 3000,
      restartDelayMs: 500,
    },
    logger,
    onRecording: webhooksFromRecordings(webhooks),
  });
  // Every new broadcast gets its HLS bridge (and recording), which it feeds and closes at its end.
  broadcasts.addOutputFactory((streamId) => hls.output(streamId));
  // And its restreams: one ffmpeg per enabled destination (server/restream).
  const destinations = catalogue.destinations;
  const sealer = new KeySealer(loadOrCreateSecret(config.dataDir, 'restream-secret', config.restreamSecret));
  const restream = new RestreamService({ destinations, sealer, ports: rtpPorts, settings: RESTREAM_SETTINGS, logger });
  broadcasts.addOutputFactory((streamId) => restream.output(streamId));
  const metrics = new Metrics({
    workersAlive: () => pool.aliveCount,
    streamsLive: () => broadcasts.liveCount,
    viewers: () => broadcasts.totalViewers,
    viewersByDelivery: () => nodeSplit(broadcasts, liveRegistry.entries().map((e) => e.streamId), (id) => hlsViewers.count(id)),
  });

  const services: Services = {
    config,
    logger,
    tokens,
    trustProxy: proxyTrust(config.trustedProxies),
    loginThrottle: shared?.login ?? {
      byUser: new LoginThrottle({ freeAttempts: limits.loginFreeAttempts.byUser }),
      byAddress: new LoginThrottle({ freeAttempts: limits.loginFreeAttempts.byAddress }),
    },
    streamCreation: shared?.streamCreation ?? new KeyedRateLimiter(limits.streamCreation),
    users,
    streams,
    live: {
      viewerCount: (streamId) => broadcasts.viewerCount(streamId),
      // hlsViewers is made below, before any request is served.
      viewersByDelivery: (streamId) => streamSplit(broadcasts, streamId, hlsViewers.count(streamId)),
      endBroadcast: (streamId, reason) => broadcasts.endBroadcast(streamId, reason),
      metadataChanged: (streamId) => broadcasts.metadataChanged(streamId),
    },
    metrics,
    deleteStreamMedia: (streamId) => hls.deleteStreamFiles(streamId),
    readiness: async () => {
      const checks = { workers: pool.aliveCount === pool.size, database: await catalogue.ping(), ...(shared ? { redis: shared.ready } : {}) };
      return { ready: Object.values(checks).every(Boolean), checks };
    },
  };

  // Set once the ingest listeners are up (after the HTTP server): the destination routes read its RTMP port.
  let ingest: IngestServers | undefined;
  const sdpEndpoints = whipWhep({ broadcasts, pool, streams, users, tokens, logger });
  const chat = new ChatService({ store: catalogue.chat, streams, users, tokens, limits: chatLimits(config.chatMessagesPerAddress), ...(shared ? { perAddress: shared.chatPerAddress } : {}) });
  // HLS players counted into the same audience as WebRTC and WHEP viewers (server/hls/HlsViewerSessions.ts).
  const hlsViewers = new HlsViewerSessions({
    audience: broadcasts,
    isSocketViewer: (streamId, id) => signaling.io.sockets.sockets.get(id)?.data.peer?.watching === streamId,
    idleMs: 2 * config.hls.segmentSeconds * 1000,
  });
  broadcasts.on('ended', ({ streamId }) => hlsViewers.endStream(streamId));
  // The console's bitrates: the last stream health report of each encoder broadcast (server/admin/IngestBitrates.ts).
  const ingestBitrates = new IngestBitrates();
  broadcasts.on('ended', ({ streamId }) => ingestBitrates.forget(streamId));
  const sharing = catalogueFromStores(streams, recordings, hls);
  // The admin console's API (server/admin): accounts, live streams with their viewers, the server.
  const liveRegistry = new LiveRegistry(broadcasts);
  const admin = adminRoutes(services, {
    users: catalogue.admin,
    live: liveRegistry,
    broadcasts,
    hlsViewers: (streamId) => hlsViewers.count(streamId),
    hlsRunning: (streamId) => (config.hls.enabled ? hls.liveSession(streamId)?.ladder?.playable === true : undefined),
    bitrate: (streamId) => ingestBitrates.of(streamId),
    status: { pool, hls, restreamPids: () => restream.pids(), liveStreams: () => broadcasts.liveCount, viewers: () => broadcasts.totalViewers, nodeId: catalogue.nodeId },
  });
  const app = createHttpApp(services, {
    api: [
      ['/recordings', recordingRoutes(services, recordings, hls)],
      ['/admin', admin],
      ['/streams', audienceRoutes(services, { broadcasts, hlsViewers: (id) => hlsViewers.count(id) })],
      ['/media', mediaRoutes(pool)],
      ['/webhooks', webhookRoutes(services, webhookStore, webhooks)],
      ['/streams', chatRoutes(services, chat)],
      ['/streams', destinationRoutes(services, { destinations, restream, sealer, allowPrivate: config.restreamAllowPrivate, ownRtmpPort: () => ingest?.rtmpPort ?? null })],
    ],
    mounts: [
      // Node-to-node requests (signed with the cluster secret), before any body parser: the signature covers the bytes.
      ...(cluster ? [['/internal', cluster.router] as [string, Router]] : []),
      ...sdpEndpoints.mounts,
      // Cluster mode: /hls requests for files another node holds are forwarded to it (server/cluster/mediaProxy.ts).
      ...(cluster
        ? [
            [
              '/hls',
              mediaProxy({
                holders: mediaHolders({ nodeId: cluster.node.nodeId, hls, leases: cluster.node.leases, registry: cluster.node.registry, recordingNode: (id) => recordings.nodeOf(id) }),
                logger,
              }),
            ] as [string, RequestHandler],
          ]
        : []),
      ['/hls', hlsRoutes({ hls, streams, tokens, liveWindow: config.hls.liveWindow, viewers: hlsViewers, dvrSeconds: config.hls.dvrSeconds })],
      // oEmbed and the pages' sharing tags (server/sharing).
      ['/', oembedRoutes({ catalogue: sharing, publicUrl: config.publicUrl })],
      ['/', pageRoutes({ embedOrigins: config.embedOrigins, sharing: { catalogue: sharing, publicUrl: config.publicUrl } })],
    ],
  });
  // Host is checked by the app (httpApp), so that its absence is answered like every other error.
  const server = http.createServer({ requireHostHeader: false }, app);
  server.on('clientError', answerClientError);
  const signaling = new SignalingServer(server, { services, broadcasts, pool, logger, chat, ...(shared ? { cluster: { adapter: shared.adapter(), sockets: shared.sockets } } : {}) });
  webhooksFromRestream(restream, webhooks);
  const ownerOf = async (id: string) => (await streams.byId(id))?.ownerId;
  const restreamStateFailed = (err: unknown) => logger.error({ err }, 'could not push a restream state');
  // Cluster mode: the owner's pages may be on any node (through the adapter).
  const pushState = shared ? shareRestreamState(signaling.io, ownerOf, restreamStateFailed) : (e: RestreamStateEvent) => pushRestreamState(signaling.io, ownerOf, e, restreamStateFailed);
  restream.on('state', pushState);
  // Stream health of encoder broadcasts (WHIP, RTMP, SRT), pushed to the owner's studio (server/ingest/health).
  broadcasts.addOutputFactory(
    ingestHealthOutputs({
      ownerOf: async (id) => (await streams.byId(id))?.ownerId,
      push: (ownerId, e) => {
        ingestBitrates.record(e);
        pushIngestHealth(signaling.io, ownerId, e);
      },
      logger,
    }),
  );

  // The recordings this node's previous run left open are closed before any broadcast can start a new one.
  await hls.recovered;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // A deep accept queue (Node's default is 511): a storm of viewers arriving while the event loop is busy
    // waits in the kernel instead of being dropped and retried by the clients seconds later.
    server.listen({ port: config.port, host: config.host, backlog: 4096 }, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch(async (err: NodeJS.ErrnoException) => {
    await shared?.close();
    await cluster?.close();
    pool.close();
    await catalogue.close();
    throw err.code === 'EADDRINUSE' ? new Error(`port ${config.port} is in use: set PORT to a free port`) : err;
  });
  // RTMP/SRT publishers: ordinary broadcast publishers (server/ingest).
  ingest = await IngestServers.start({ config: config.ingest, host: config.host, broadcasts, findStreamByKey: (key) => streams.byKey(key), logger }).catch(async (err) => {
    server.close();
    await shared?.close();
    await cluster?.close();
    pool.close();
    await catalogue.close();
    throw err;
  });
  webhooks.start();
  const port = (server.address() as AddressInfo).port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      logger.info('shutting down');
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      await broadcasts.endAll('the server is shutting down');
      // After this node's broadcasts ended (their edges were told): relays, pipes, leases, registry entry.
      await cluster?.close();
      await ingest?.close();
      sdpEndpoints.close();
      hlsViewers.close();
      liveRegistry.close();
      await hls.close();
      await restream.close();
      // socket.io's close waits for the HTTP server to close, which waits for every connection: a request
      // still being received (a slow or endless body) would hold it forever.
      const signalingClosed = signaling.close();
      server.closeAllConnections();
      await signalingClosed;
      await serverClosed;
      await shared?.close();
      await webhooks.close();
      pool.close();
      await catalogue.close();
      logger.info('stopped');
    })());

  return { url, port, services, pool, broadcasts, signaling, chat, hls, hlsViewers, ingest: ingest!, restream, webhooks, cluster, catalogue, close };
}
