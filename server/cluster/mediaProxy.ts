/**
 * Any node serves any stream's HLS (`/hls/…`, live and recorded; `/video/:id` is a page that plays these):
 * the files stay on the disk of the node that wrote them (the stream's origin while live, the recording's
 * node afterwards), and a node that does not hold them forwards the request to the one that does and streams
 * the answer back (status, caching headers and body unchanged). Mounted in front of hlsRoutes in cluster mode
 * only; on one machine nothing is forwarded.
 *
 * Why forward rather than redirect (docs/cluster.md): a redirect would send players and the CDN to the
 * holder's ONAIR_NODE_URL, an address on the nodes' private network that viewers cannot reach; it would give
 * one object several URLs (several cache keys: the CDN no longer collapses all viewers into one origin
 * request); it would be cached by players and CDNs, pointing at a dead node after a failover; and a
 * cross-origin hop breaks players that do not follow redirects for segments or send CORS preflights anew.
 * Forwarding costs one extra hop between nodes per CDN miss, which the cache in front makes rare.
 *
 * Which node holds a request's files:
 * - `/hls/<stream>/master.m3u8`, `/hls/<stream>/thumb.jpg` (the live session): the stream's origin lease;
 * - `/hls/<stream>/<session>/…`: the node that recorded the session (its recording's node), else the
 *   stream's origin (a session being written now).
 * This node first: a request for files it has (a live session, a session folder on its disk) is served here.
 *
 * Guards, and why:
 * - A forwarded request carries `x-onair-hop`; a request with it is never forwarded again, so two nodes that
 *   disagree (a lease moving while a request is on its way) cannot bounce a request between them. A client
 *   sending the header itself only gets this node's own answer (a 404 where it has nothing).
 * - Only the request headers a cache or player needs are forwarded (no cookies, no authorization: private
 *   streams carry their viewer token in the query, which is forwarded and checked by the holder).
 * - The forward is aborted when the client goes away (a blocking LL-HLS playlist request waits at the
 *   holder), and bounded in time; a holder that cannot be reached gives 503 `no-store` (nginx then tries
 *   another node, and nothing caches the failure), a holder that is not alive in the registry gives the local
 *   answer (404: the files are on a node that is gone).
 * - The path is matched by the same strict id pattern as hlsRoutes before anything is looked up.
 */
import http from 'node:http';
import https from 'node:https';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ID_PATTERN } from '../../shared/api.js';
import type { Logger } from '../log/logger.js';

export const HOP_HEADER = 'x-onair-hop';
/** Above the longest an LL-HLS request waits at the holder (a blocking playlist or a hinted part). */
export const FORWARD_TIMEOUT_MS = 20_000;

const ID = ID_PATTERN.source.replace(/^\^|\$$/g, '');
const LIVE_PATH = new RegExp(`^/(${ID})/(?:master\\.m3u8|thumb\\.jpg)$`);
const SESSION_PATH = new RegExp(`^/(${ID})/(${ID})/`);

/** Request headers passed on to the holder. */
const FORWARDED_REQUEST = ['accept', 'accept-encoding', 'range', 'if-none-match', 'if-modified-since', 'if-range', 'user-agent'];
/** Response headers never passed back (hop-by-hop). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade', 'trailer', 'te']);

/** What the proxy asks about where files are; narrow, so tests stand in for the cluster. */
export interface MediaHolders {
  /** This node's id. */
  selfId: string;
  /** Whether this node has the live session of `streamId` (session undefined) or the session's files. */
  holdsLocally(streamId: string, sessionId: string | undefined): boolean;
  /** The node that recorded the session (its recording's node), if known. */
  recordingNode(sessionId: string): Promise<string | undefined>;
  /** The stream's origin now, if it is live anywhere. */
  originNode(streamId: string): Promise<string | undefined>;
  /** An alive node's URL (ONAIR_NODE_URL), undefined when it is not alive. */
  nodeUrl(nodeId: string): Promise<string | undefined>;
}

export interface MediaProxyOptions {
  holders: MediaHolders;
  logger: Logger;
  timeoutMs?: number;
}

/** Express middleware for the `/hls` mount: forwards what another node holds, passes the rest on. */
export function mediaProxy(o: MediaProxyOptions): RequestHandler {
  const { holders } = o;
  const agents = { http: new http.Agent({ keepAlive: true, maxSockets: 256 }), https: new https.Agent({ keepAlive: true, maxSockets: 256 }) };

  /** The node holding the request's files, if not this one. */
  const holderOf = async (req: Request): Promise<string | undefined> => {
    const live = LIVE_PATH.exec(req.path);
    if (live) {
      const streamId = live[1]!;
      return holders.holdsLocally(streamId, undefined) ? undefined : holders.originNode(streamId);
    }
    const session = SESSION_PATH.exec(req.path);
    if (!session) return undefined;
    const [streamId, sessionId] = [session[1]!, session[2]!];
    if (holders.holdsLocally(streamId, sessionId)) return undefined;
    return (await holders.recordingNode(sessionId)) ?? (await holders.originNode(streamId));
  };

  const forward = (req: Request, res: Response, nodeUrl: string, nodeId: string) => {
    const target = new URL(req.originalUrl, nodeUrl);
    const headers: http.OutgoingHttpHeaders = { [HOP_HEADER]: holders.selfId };
    for (const h of FORWARDED_REQUEST) if (req.headers[h] !== undefined) headers[h] = req.headers[h];
    headers['x-forwarded-for'] = req.ip ?? '';
    const lib = target.protocol === 'https:' ? https : http;
    const upstream = lib.request(target, { method: req.method, headers, agent: target.protocol === 'https:' ? agents.https : agents.http, timeout: o.timeoutMs ?? FORWARD_TIMEOUT_MS });
    const unavailable = (why: string) => {
      o.logger.warn({ node: nodeId, path: req.originalUrl, why }, 'HLS request could not be forwarded to the node holding it');
      if (res.headersSent) return void res.destroy();
      res.setHeader('Cache-Control', 'no-store');
      res.status(503).type('text/plain').send('the node holding this stream does not answer: retry');
    };
    upstream.on('timeout', () => upstream.destroy(new Error('timed out')));
    upstream.on('error', (err) => {
      if (!res.writableEnded && !res.destroyed) unavailable(err.message);
    });
    upstream.on('response', (answer) => {
      res.status(answer.statusCode ?? 502);
      for (const [k, v] of Object.entries(answer.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) res.setHeader(k, v);
      answer.pipe(res);
      answer.on('error', () => res.destroy());
    });
    // The client went away: stop the forward (a blocking request would otherwise wait at the holder).
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    upstream.end();
  };

  return (req: Request, res: Response, next: NextFunction) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || req.headers[HOP_HEADER] !== undefined) return next();
    holderOf(req)
      .then(async (nodeId) => {
        if (!nodeId || nodeId === holders.selfId) return next();
        const url = await holders.nodeUrl(nodeId);
        if (!url) return next();
        forward(req, res, url, nodeId);
      })
      .catch((err: Error) => {
        // Redis or the catalogue unreachable: answer what this node has (its own 404 if nothing).
        o.logger.warn({ err: err.message, path: req.originalUrl }, 'cannot tell which node holds this HLS request; answering locally');
        next();
      });
  };
}
