/**
 * User Timing marks of the player's first start ("onair:joined", "onair:track", …), for the browser's
 * performance panel and the time-to-first-frame benchmark: they show where a viewer's wait goes. Each mark is
 * set once per page; later reconnections do not move it.
 */
export function markOnce(name: string): void {
  const full = `onair:${name}`;
  if (typeof performance === 'undefined' || performance.getEntriesByName(full, 'mark').length > 0) return;
  performance.mark(full);
}
