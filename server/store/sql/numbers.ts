/**
 * PostgreSQL's `bigint` (and `COUNT(*)`) arrive from `pg` as strings, because a JavaScript number cannot hold
 * every 64-bit integer; SQLite hands back numbers. The catalogue's integers (row counts, byte sizes) stay far
 * below 2^53, so both become plain numbers here; a value that is not a safe integer is a bug, not data.
 */
export function toNumber(value: number | string | bigint): number {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(n) || (Number.isInteger(n) && !Number.isSafeInteger(n))) {
    throw new RangeError(`the database returned ${String(value)}, which is not a number OnAir can hold`);
  }
  return n;
}
