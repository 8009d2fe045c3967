/**
 * HlsViewerSessions on its own: sessions counted into an audience (a set per stream, as Broadcasts keeps),
 * present while requests keep coming or wait, gone after idleMs, counted once when they are a joined socket's.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HlsViewerSessions, hlsSessionSchema } from '../../server/hls/HlsViewerSessions.js';

/** The audience as Broadcasts keeps it: a set of viewer ids per stream. */
function audience() {
  const sets = new Map<string, Set<string>>();
  return {
    sets,
    count: (streamId: string) => sets.get(streamId)?.size ?? 0,
    addViewer(streamId: string, viewer: string) {
      if (!sets.has(streamId)) sets.set(streamId, new Set());
      sets.get(streamId)!.add(viewer);
    },
    removeViewer(streamId: string, viewer: string) {
      sets.get(streamId)?.delete(viewer);
    },
  };
}

let open: HlsViewerSessions[] = [];
afterEach(() => {
  for (const v of open.splice(0)) v.close();
});

function setup(sockets = new Map<string, string>()) {
  let t = 1_000;
  const a = audience();
  const v = new HlsViewerSessions({ audience: a, isSocketViewer: (streamId, id) => sockets.get(id) === streamId, idleMs: 2000, now: () => t });
  open.push(v);
  return { a, v, sockets, advance: (ms: number) => (t += ms) };
}

describe('HlsViewerSessions', () => {
  it('counts a session from its first request while requests keep coming, and drops it idleMs after the last', () => {
    const { a, v, advance } = setup();
    v.begin('s1', 'session-aaaa')();
    expect(a.count('s1')).toBe(1);
    for (let i = 0; i < 10; i++) {
      advance(1000);
      v.begin('s1', 'session-aaaa')();
      v.sweep();
      expect(a.count('s1')).toBe(1);
    }
    advance(1999);
    v.sweep();
    expect(a.count('s1')).toBe(1);
    advance(1);
    v.sweep();
    expect(a.count('s1')).toBe(0);
    expect(v.size).toBe(0);
    expect(v.count('s1')).toBe(0);
  });

  it('keeps a session whose request still waits (a blocking playlist request), then times it from its end', () => {
    const { a, v, advance } = setup();
    const done = v.begin('s1', 'session-aaaa');
    advance(10_000);
    v.sweep();
    expect(a.count('s1')).toBe(1);
    done();
    done(); // twice is harmless
    advance(2000);
    v.sweep();
    expect(a.count('s1')).toBe(0);
  });

  it('counts sessions per stream, and each session once', () => {
    const { a, v } = setup();
    v.begin('s1', 'session-aaaa')();
    v.begin('s1', 'session-aaaa')();
    v.begin('s1', 'session-bbbb')();
    v.begin('s2', 'session-aaaa')();
    expect([a.count('s1'), a.count('s2')]).toEqual([2, 1]);
    expect([v.count('s1'), v.count('s2')]).toEqual([2, 1]);
  });

  it("does not count twice OnAir's player, whose joined socket is already in the audience; counts it once its socket left", () => {
    const sockets = new Map([['socket-id-1', 's1']]);
    const { a, v } = setup(sockets);
    a.addViewer('s1', 'socket-id-1'); // the socket's own entry (viewerHandlers)
    v.begin('s1', 'socket-id-1')();
    expect(a.count('s1')).toBe(1);
    expect(v.count('s1')).toBe(1); // an HLS viewer in the split
    // The page's socket went (it reconnects under a new id): the HLS session counts on its own.
    sockets.delete('socket-id-1');
    a.removeViewer('s1', 'socket-id-1');
    v.begin('s1', 'socket-id-1')();
    expect([...a.sets.get('s1')!]).toEqual(['hls:socket-id-1']);
    // A socket joined under that id again: back to one entry.
    sockets.set('socket-id-1', 's1');
    a.addViewer('s1', 'socket-id-1');
    v.begin('s1', 'socket-id-1')();
    expect([...a.sets.get('s1')!]).toEqual(['socket-id-1']);
  });

  it('a socket watching another stream does not hide a session of this one', () => {
    const { a, v } = setup(new Map([['socket-id-1', 'other']]));
    v.begin('s1', 'socket-id-1')();
    expect([...a.sets.get('s1')!]).toEqual(['hls:socket-id-1']);
  });

  it("drops a stream's sessions when its broadcast ends, and everything on close", () => {
    const { a, v } = setup();
    v.begin('s1', 'session-aaaa')();
    v.begin('s2', 'session-bbbb')();
    v.endStream('s1');
    expect([a.count('s1'), a.count('s2')]).toEqual([0, 1]);
    expect([v.count('s1'), v.count('s2')]).toEqual([0, 1]);
    v.close();
    expect(a.count('s2')).toBe(0);
    // Closed: nothing more is counted.
    v.begin('s2', 'session-cccc')();
    expect(a.count('s2')).toBe(0);
  });

  it('takes session ids of 8-64 URL-safe characters only', () => {
    for (const ok of ['abcdefgh', 'A-Z_09-x'.repeat(8), 'PDgKRr0ePzNvnO4gAAAB']) expect(hlsSessionSchema.safeParse(ok).success).toBe(true);
    for (const bad of ['short', 'a'.repeat(65), 'has space1', 'slash/abcd', 'dot.abcdefg', '', 'é'.repeat(10)]) expect(hlsSessionSchema.safeParse(bad).success).toBe(false);
  });
});
