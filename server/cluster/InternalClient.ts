/**
 * The signing client of the internal API: one JSON request to another node, signed with the cluster secret
 * (requestSignature.ts), bounded in time, its answer validated with zod (the other node is another process,
 * maybe another version: its answer is outside input too).
 */
import type { z } from 'zod';
import type { ErrorCode, ErrorReason } from '../../shared/errors.js';
import { signedHeaders } from './requestSignature.js';

export const INTERNAL_REQUEST_TIMEOUT_MS = 5_000;

/** A refusal or failure of a node-to-node request. `status` 0: no answer (unreachable, timed out). */
export class InternalRequestError extends Error {
  override name = 'InternalRequestError';
  readonly status: number;
  readonly code: ErrorCode | undefined;
  readonly reason: ErrorReason | undefined;
  constructor(message: string, status: number, code?: ErrorCode, reason?: ErrorReason) {
    super(message);
    this.status = status;
    this.code = code;
    this.reason = reason;
  }
}

export interface InternalClientOptions {
  secret: string;
  /** This node's id (the sender). */
  nodeId: string;
  timeoutMs?: number;
}

export class InternalClient {
  readonly #opts: InternalClientOptions;

  constructor(opts: InternalClientOptions) {
    this.#opts = opts;
  }

  /** `method path` on the node at `nodeUrl` (scheme://host:port); resolves with the answer parsed by `answer`. */
  async request<S extends z.ZodTypeAny>(nodeUrl: string, method: 'POST' | 'DELETE', path: string, body: unknown, answer: S, signal?: AbortSignal): Promise<z.output<S>> {
    const text = JSON.stringify(body ?? {});
    const headers = { 'content-type': 'application/json', ...signedHeaders(this.#opts.secret, { method, path, nodeId: this.#opts.nodeId, body: text }) };
    const timeout = AbortSignal.timeout(this.#opts.timeoutMs ?? INTERNAL_REQUEST_TIMEOUT_MS);
    let res: globalThis.Response;
    try {
      res = await fetch(new URL(path, nodeUrl), { method, headers, body: text, signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
    } catch (err) {
      throw new InternalRequestError(`${method} ${nodeUrl}${path}: no answer (${(err as Error).message})`, 0);
    }
    let json: unknown;
    try {
      json = await res.json();
    } catch {
      throw new InternalRequestError(`${method} ${nodeUrl}${path}: answered ${res.status} without JSON`, res.status);
    }
    if (!res.ok) {
      const e = (json ?? {}) as { error?: ErrorCode; reason?: ErrorReason; message?: string };
      throw new InternalRequestError(`${method} ${nodeUrl}${path}: ${res.status} ${e.message ?? ''}`.trim(), res.status, e.error, e.reason);
    }
    const parsed = answer.safeParse(json);
    if (!parsed.success) throw new InternalRequestError(`${method} ${nodeUrl}${path}: malformed answer (${parsed.error.issues[0]?.message ?? ''})`, res.status);
    return parsed.data;
  }
}
