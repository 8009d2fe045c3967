/**
 * The signature of a node-to-node request (InternalApi): HMAC-SHA256, keyed with the cluster secret, over
 *
 *   onair-v1 \n METHOD \n path?query \n timestamp(ms) \n nonce \n sender node id \n SHA-256(body) hex
 *
 * carried in four headers. The method and path bind the signature to one endpoint, the body hash to one
 * body, the node id to one sender; the timestamp bounds how long a captured request stays usable, and the
 * nonce (remembered by the receiver for longer than that) makes each request usable once.
 */
import crypto from 'node:crypto';
import { NODE_ID } from './ClusterSettings.js';

export const HEADERS = {
  node: 'x-onair-node',
  timestamp: 'x-onair-timestamp',
  nonce: 'x-onair-nonce',
  signature: 'x-onair-signature',
} as const;

/** How far a request's timestamp may be from the receiver's clock. */
export const MAX_SKEW_MS = 30_000;

export const NONCE = /^[A-Za-z0-9_-]{16,64}$/;
export const TIMESTAMP = /^\d{1,15}$/;
export const SIGNATURE = /^[0-9a-f]{64}$/;
export { NODE_ID };

export interface SignedParts {
  method: string;
  /** Path and query exactly as sent (`/internal/pipes`). */
  path: string;
  timestamp: number;
  nonce: string;
  nodeId: string;
  body: Buffer | string;
}

export function sign(secret: string, p: SignedParts): string {
  const bodyHash = crypto.createHash('sha256').update(p.body).digest('hex');
  const text = ['onair-v1', p.method.toUpperCase(), p.path, String(p.timestamp), p.nonce, p.nodeId, bodyHash].join('\n');
  return crypto.createHmac('sha256', secret).update(text).digest('hex');
}

/** Constant-time comparison of two hex signatures. */
export function signaturesEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length === 32 && crypto.timingSafeEqual(x, y);
}

/** The headers of a signed request (a fresh nonce and the current time unless given). */
export function signedHeaders(
  secret: string,
  p: Omit<SignedParts, 'timestamp' | 'nonce'> & { timestamp?: number; nonce?: string },
): Record<string, string> {
  const timestamp = p.timestamp ?? Date.now();
  const nonce = p.nonce ?? crypto.randomBytes(18).toString('base64url');
  return {
    [HEADERS.node]: p.nodeId,
    [HEADERS.timestamp]: String(timestamp),
    [HEADERS.nonce]: nonce,
    [HEADERS.signature]: sign(secret, { ...p, timestamp, nonce }),
  };
}
