import { describe, expect, it } from 'vitest';
import { LiveError } from '../../server/live/LiveError.js';
import { ViewerSeats } from '../../server/live/ViewerSeats.js';

describe('ViewerSeats: one WebRTC viewer cap for socket and WHEP viewers', () => {
  it('admits exactly max distinct holders and refuses the next with viewers_full', () => {
    const seats = new ViewerSeats(3);
    const held = ['a', 'whep:b', 'c'].map((h) => seats.take(h));
    expect(seats.count).toBe(3);
    expect(seats.hasRoom('d')).toBe(false);
    let refused: unknown;
    try {
      seats.take('d');
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(LiveError);
    expect((refused as LiveError).reason).toBe('viewers_full');
    expect((refused as LiveError).code).toBe('too_many_requests');
    held[1]!.release();
    expect(seats.count).toBe(2);
    expect(seats.take('d').holder).toBe('d');
  });

  it('gives a seat back exactly once, however often release is called', () => {
    const seats = new ViewerSeats(2);
    const a = seats.take('a');
    seats.take('b');
    a.release();
    a.release();
    a.release();
    expect(seats.count).toBe(1);
    seats.take('c');
    expect(seats.hasRoom('d')).toBe(false);
  });

  it('lets a holder that already sits take again (a new transport after a reconnect) and keeps its seat until every take is released', () => {
    const seats = new ViewerSeats(1);
    const first = seats.take('a');
    expect(seats.hasRoom('a')).toBe(true);
    expect(seats.hasRoom('b')).toBe(false);
    const second = seats.take('a');
    expect(seats.count).toBe(1);
    first.release();
    expect(seats.hasRoom('b')).toBe(false);
    second.release();
    expect(seats.count).toBe(0);
    expect(seats.hasRoom('b')).toBe(true);
  });

  it('with a cap of 0 admits nobody', () => {
    const seats = new ViewerSeats(0);
    expect(seats.hasRoom('a')).toBe(false);
    expect(() => seats.take('a')).toThrow(LiveError);
  });
});
