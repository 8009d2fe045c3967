/**
 * When to try a failed delivery again: exponential back-off with "equal jitter". The n-th retry waits
 * between half and all of `min(maxMs, firstMs × 2^(n-1))`: doubling spaces retries out for a receiver that
 * is down for hours, the cap keeps one at least hourly, and the jitter spreads the retries of many
 * deliveries that failed together (a receiver's outage) so they do not all come back in one burst.
 * With the defaults (10 s first, 1 h cap, 24 h window) a delivery is tried about 40 times.
 */
export interface RetryPolicy {
  firstMs: number;
  maxMs: number;
  /** Counted from the event: no attempt is scheduled after `createdAt + windowMs`. */
  windowMs: number;
}

/** The delay before retry number `attempt` (1: after the first failure); `random` in [0, 1). */
export function retryDelayMs(attempt: number, p: Pick<RetryPolicy, 'firstMs' | 'maxMs'>, random: () => number = Math.random): number {
  const ceiling = Math.min(p.maxMs, p.firstMs * 2 ** Math.min(attempt - 1, 40));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** The time of the next attempt after `attempts` failed ones, or undefined once past the window. */
export function nextAttemptAt(createdAtMs: number, nowMs: number, attempts: number, p: RetryPolicy, random: () => number = Math.random): number | undefined {
  const at = nowMs + retryDelayMs(attempts, p, random);
  return at > createdAtMs + p.windowMs ? undefined : at;
}
