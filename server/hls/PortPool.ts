/**
 * Local UDP port pairs (RTP, RTCP = RTP + 1) for ffmpeg to receive on; taken and given back. Another process
 * on the machine (a second OnAir, anything) may hold some of them: `take()` checks that both ports can be
 * bound before handing them out, and starts at a random place in the range so two OnAirs rarely meet.
 */
import dgram from 'node:dgram';

export class PortPool {
  readonly #free: number[] = [];
  readonly #taken = new Set<number>();

  /** Even ports from `min` up to `max` (exclusive), each with its odd neighbour. */
  constructor(min: number, max: number, opts: { shuffleStart?: boolean } = {}) {
    const ports: number[] = [];
    for (let p = min + (min % 2); p + 1 < max; p += 2) ports.push(p);
    const start = opts.shuffleStart && ports.length ? Math.floor(Math.random() * ports.length) : 0;
    this.#free.push(...ports.slice(start), ...ports.slice(0, start));
  }

  get available(): number {
    return this.#free.length;
  }

  /** An even port, free on 127.0.0.1 together with its +1, reserved until `give()`. */
  async take(): Promise<number> {
    for (let tries = this.#free.length; tries > 0; tries--) {
      const p = this.#free.shift()!;
      if ((await canBind(p)) && (await canBind(p + 1))) {
        this.#taken.add(p);
        return p;
      }
      this.#free.push(p); // busy elsewhere now: try it again later
    }
    throw new Error('no free ports left for the HLS bridge');
  }

  give(port: number): void {
    if (!this.#taken.delete(port)) return;
    this.#free.push(port);
  }
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket('udp4');
    sock.once('error', () => {
      sock.close();
      resolve(false);
    });
    sock.bind(port, '127.0.0.1', () => sock.close(() => resolve(true)));
  });
}
