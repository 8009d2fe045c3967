/**
 * Bench-only preload of the OnAir server process the signaling benchmark starts (never part of the product):
 * `node --expose-gc --import tsx --import bench/signaling/memoryProbe.ts server/main.ts`. When the parent sends
 * "memory" over IPC it runs full garbage collections and answers with process.memoryUsage(), so that memory
 * per socket is compared between two collected heaps rather than whatever garbage happens to be around.
 */
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('memoryProbe needs node --expose-gc');

process.on('message', (msg: unknown) => {
  if (msg !== 'memory') return;
  // Several passes: objects freed by one collection's finalizers go in the next.
  for (let i = 0; i < 3; i++) gc();
  process.send?.({ memory: process.memoryUsage() });
});
// The benchmark went away (crashed, killed): do not linger as an orphan server.
process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
