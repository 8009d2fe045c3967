/**
 * One attempt: POST a body to a hook's URL and report the status or what went wrong. Never throws.
 *
 * Guards, and why:
 * - The connection goes only to addresses `checkedLookup` approved (addressPolicy.ts); an IP literal in the
 *   URL never reaches a lookup, so it is checked here first.
 * - One bound (`timeoutMs`) covers connecting, sending and the answer's status line and headers: a receiver
 *   that accepts and never answers cannot hold a delivery slot. The answer's body is not read: the status
 *   decides, and the connection is closed at once (no keep-alive: `agent: false`).
 * - Redirects are not followed (a 3xx is a failed attempt): following one would reach a URL nobody checked.
 * - `signal` (the service closing) aborts the request; the caller then leaves the delivery pending.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { AddressRefusedError, bareHost, checkedLookup, isPrivateAddress } from './addressPolicy.js';

export type AttemptResult = { ok: true; status: number } | { ok: false; status: number | null; error: string };

export interface PostOptions {
  timeoutMs: number;
  allowPrivate: boolean;
  signal?: AbortSignal | undefined;
}

export function postWebhook(target: string, body: string, headers: Record<string, string>, opts: PostOptions): Promise<AttemptResult> {
  return new Promise((resolve) => {
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      return resolve({ ok: false, status: null, error: 'the hook URL is not valid' });
    }
    const host = bareHost(url);
    if (net.isIP(host) && !opts.allowPrivate && isPrivateAddress(host)) {
      return resolve({ ok: false, status: null, error: `refused: ${host} is a loopback, private or reserved address (ONAIR_WEBHOOK_ALLOW_PRIVATE=1 allows it)` });
    }
    // One controller per attempt: aborted by its own timer or by the service closing (a listener removed when
    // the attempt settles, so the service's long-lived signal keeps no reference to finished attempts).
    const abort = new AbortController();
    let why: 'timeout' | 'closing' | undefined;
    const timer = setTimeout(() => {
      why = 'timeout';
      abort.abort();
    }, opts.timeoutMs);
    const onClosing = () => {
      why ??= 'closing';
      abort.abort();
    };
    if (opts.signal?.aborted) onClosing();
    opts.signal?.addEventListener('abort', onClosing, { once: true });
    let settled = false;
    const done = (r: AttemptResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onClosing);
      resolve(r);
    };
    const lib = url.protocol === 'https:' ? https : http;
    const req = lib.request(url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'OnAir-Webhooks/1' },
      lookup: checkedLookup(opts.allowPrivate),
      signal: abort.signal,
      agent: false,
    });
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      done(status >= 200 && status < 300 ? { ok: true, status } : { ok: false, status, error: `HTTP ${status}` });
      // The status decides; the answer's body is not read (a slow or endless one cannot hold the socket).
      res.on('error', () => undefined);
      req.destroy();
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err instanceof AddressRefusedError) return done({ ok: false, status: null, error: `refused: ${err.message}` });
      if (why === 'timeout') return done({ ok: false, status: null, error: `no answer within ${opts.timeoutMs / 1000} s` });
      if (why === 'closing') return done({ ok: false, status: null, error: 'aborted: the server is shutting down' });
      done({ ok: false, status: null, error: err.message || err.code || 'request failed' });
    });
    req.end(body);
  });
}
