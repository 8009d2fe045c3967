import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { LivenessTimings } from '../../server/whip/limits.js';
import { LivenessWatch, type WatchedTransport } from '../../server/whip/LivenessWatch.js';

/** A stand-in transport: events and a byte counter the test moves. */
class FakeTransport extends EventEmitter implements WatchedTransport {
  closed = false;
  bytes = 0;
  async getStats() {
    return [{ bytesReceived: this.bytes }];
  }
}

const TIMINGS: LivenessTimings = { connectTimeoutMs: 10_000, silenceMs: 3_000, iceDisconnectedMs: 2_000, pollMs: 500 };

describe('LivenessWatch', () => {
  let transport: FakeTransport;
  let gone: string[];
  let watch: LivenessWatch;
  const start = (onConnected = () => undefined) => {
    watch = new LivenessWatch(transport, TIMINGS, { onGone: (r) => gone.push(r), onConnected });
  };
  beforeEach(() => {
    vi.useFakeTimers();
    transport = new FakeTransport();
    gone = [];
  });
  afterEach(() => {
    watch?.stop();
    vi.useRealTimers();
  });

  it('gives a client that never connects connectTimeoutMs', async () => {
    start();
    await vi.advanceTimersByTimeAsync(9_000);
    expect(gone).toEqual([]);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(gone).toEqual(['the client did not connect within 10 s']);
  });

  it('notices silence once connected, not while bytes keep coming', async () => {
    const connected = vi.fn();
    start(connected);
    transport.emit('dtlsstatechange', 'connected');
    expect(connected).toHaveBeenCalledOnce();
    for (let i = 0; i < 20; i++) {
      transport.bytes += 100;
      await vi.advanceTimersByTimeAsync(500);
    }
    expect(gone).toEqual([]);
    await vi.advanceTimersByTimeAsync(4_000);
    expect(gone).toEqual(['nothing received from the client for 3 s']);
    // Once only.
    await vi.advanceTimersByTimeAsync(10_000);
    expect(gone).toHaveLength(1);
  });

  it('reports DTLS failure and close at once, and ICE disconnection that lasts', async () => {
    start();
    transport.emit('dtlsstatechange', 'closed');
    expect(gone).toEqual(['the client closed the connection']);

    gone = [];
    transport = new FakeTransport();
    start();
    transport.emit('dtlsstatechange', 'connected');
    transport.emit('icestatechange', 'disconnected');
    transport.bytes = 1;
    await vi.advanceTimersByTimeAsync(1_000);
    transport.emit('icestatechange', 'completed');
    transport.bytes = 2;
    await vi.advanceTimersByTimeAsync(1_500);
    expect(gone).toEqual([]);
    transport.emit('icestatechange', 'disconnected');
    await vi.advanceTimersByTimeAsync(2_100);
    expect(gone).toEqual(['the ICE connection was lost']);
  });

  it('stops listening when stopped', async () => {
    start();
    watch.stop();
    expect(transport.listenerCount('dtlsstatechange')).toBe(0);
    expect(transport.listenerCount('icestatechange')).toBe(0);
    transport.emit('dtlsstatechange', 'failed');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(gone).toEqual([]);
  });
});
