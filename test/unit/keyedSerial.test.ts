import { describe, expect, it } from 'vitest';
import { KeyedSerial } from '../../server/limits/KeyedSerial.js';

const tick = () => new Promise<void>((r) => setImmediate(r));

describe('KeyedSerial', () => {
  it('runs the tasks of one key one after the other, and other keys beside them', async () => {
    const serial = new KeyedSerial();
    const log: string[] = [];
    const task = (name: string) => async () => {
      log.push(`${name} start`);
      await tick();
      await tick();
      log.push(`${name} end`);
      return name;
    };
    const all = Promise.all([serial.run('a', task('a1')), serial.run('a', task('a2')), serial.run('b', task('b1'))]);
    expect(await all).toEqual(['a1', 'a2', 'b1']);
    expect(log.indexOf('a1 end')).toBeLessThan(log.indexOf('a2 start'));
    expect(log.indexOf('b1 start')).toBeLessThan(log.indexOf('a1 end'));
  });

  it('gives a failure to its own caller only, and forgets keys once idle', async () => {
    const serial = new KeyedSerial();
    const failed = serial.run('k', async () => {
      throw new Error('boom');
    });
    const next = serial.run('k', async () => 'ok');
    await expect(failed).rejects.toThrow('boom');
    expect(await next).toBe('ok');
    await tick();
    expect(serial.size).toBe(0);
  });

  it('makes a check-then-insert exact under concurrency', async () => {
    const serial = new KeyedSerial();
    const rows: number[] = [];
    const create = () =>
      serial.run('owner', async () => {
        const n = rows.length;
        await tick();
        if (n >= 10) throw new Error('limit');
        rows.push(n);
      });
    const results = await Promise.allSettled(Array.from({ length: 12 }, create));
    expect(rows).toHaveLength(10);
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(2);
  });
});
