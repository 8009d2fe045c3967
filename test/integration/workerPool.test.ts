import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkerPool } from '../../server/media/WorkerPool.js';
import { createLogger } from '../../server/log/logger.js';

describe('WorkerPool (real mediasoup 3.12.16 workers)', () => {
  let pool: WorkerPool;
  beforeAll(async () => {
    pool = await WorkerPool.create({ size: 2, listenIp: '127.0.0.1', announcedIp: '127.0.0.1', firstPort: 0, logger: createLogger('silent') });
  });
  afterAll(() => pool.close());

  it('runs one worker per slot, each with a WebRtcServer', async () => {
    expect(pool.aliveCount).toBe(2);
    const workers = pool.workers();
    expect(new Set(workers.map((w) => w.pid)).size).toBe(2);
    for (const w of workers) {
      const dump = await w.worker.dump();
      expect(dump.webRtcServerIds).toHaveLength(1);
    }
  });

  it('creates routers on the least-loaded worker and WebRTC transports on its WebRtcServer', async () => {
    const a = await pool.createRouter();
    const b = await pool.createRouter();
    expect(a.workerIndex).not.toBe(b.workerIndex);
    expect(a.router.rtpCapabilities.codecs?.map((c) => c.mimeType)).toEqual(expect.arrayContaining(['audio/opus', 'video/VP8', 'video/H264']));
    const t = await a.router.createWebRtcTransport({ webRtcServer: a.webRtcServer, enableUdp: true, enableTcp: true });
    expect(t.iceCandidates.length).toBeGreaterThanOrEqual(2);
    expect(t.iceCandidates.every((c) => c.ip === '127.0.0.1')).toBe(true);
    expect(t.iceCandidates.map((c) => c.protocol).sort()).toEqual(['tcp', 'udp']);
    expect(t.dtlsParameters.fingerprints.length).toBeGreaterThan(0);
    a.router.close();
    b.router.close();
    expect(t.closed).toBe(true);
  });

  it('replaces a killed worker and tells the owners of its routers', async () => {
    const { router, workerIndex } = await pool.createRouter();
    const victim = pool.workers().find((w) => w.index === workerIndex)!;
    const died = new Promise<{ index: number; routers: unknown[] }>((r) => pool.once('workerdied', r));
    const replaced = new Promise<{ index: number; pid: number }>((r) => pool.once('workerreplaced', r));
    process.kill(victim.pid, 'SIGKILL');
    const d = await died;
    expect(d.index).toBe(workerIndex);
    expect(d.routers).toContain(router);
    expect(router.closed).toBe(true);
    const r = await replaced;
    expect(r.index).toBe(workerIndex);
    expect(r.pid).not.toBe(victim.pid);
    expect(pool.aliveCount).toBe(2);
    // The new worker takes routers again.
    const again = await pool.createRouter();
    expect(again.router.closed).toBe(false);
    again.router.close();
  });

  it('kills and replaces a worker that stops answering (watchdog), and leaves answering ones alone', async () => {
    const watched = await WorkerPool.create({
      size: 1,
      listenIp: '127.0.0.1',
      announcedIp: '127.0.0.1',
      firstPort: 0,
      logger: createLogger('silent'),
      watchdog: { intervalMs: 100, timeoutMs: 500 },
    });
    try {
      const before = watched.workers()[0]!.pid;
      // Several probe periods of a healthy worker: nothing happens.
      await new Promise((r) => setTimeout(r, 700));
      expect(watched.workers()[0]!.pid).toBe(before);
      const { router } = await watched.createRouter();
      const replaced = new Promise<{ pid: number }>((r) => watched.once('workerreplaced', r));
      // Alive but silent: without the watchdog, every request to it would wait forever.
      process.kill(before, 'SIGSTOP');
      const r = await replaced;
      expect(r.pid).not.toBe(before);
      expect(router.closed).toBe(true);
      expect(() => process.kill(before, 0)).toThrow(); // the stopped worker is gone, not left behind
      const again = await watched.createRouter();
      expect(again.router.closed).toBe(false);
    } finally {
      watched.close();
    }
  });
});
