/**
 * The studio's viewers by delivery (GET /api/streams/:id/viewers: WebRTC, WHEP, HLS) under the viewer count,
 * read every POLL_MS while live: HLS players come and go with their requests, which no socket event reports.
 * Lifetime: start() when the broadcast is live, stop() when it is not; a read answered after stop() is dropped.
 */
import type { AdminViewers } from '../../shared/adminApi.js';
import { api } from '../common/api.js';

const POLL_MS = 3000;

export class AudienceSplitPoller {
  readonly #render: (split: AdminViewers | undefined) => void;
  #timer: ReturnType<typeof setInterval> | undefined;
  #run = 0;

  constructor(render: (split: AdminViewers | undefined) => void) {
    this.#render = render;
  }

  start(streamId: string, token: string): void {
    this.stop();
    const run = ++this.#run;
    const read = async () => {
      const split = await api<AdminViewers>('GET', `/api/streams/${encodeURIComponent(streamId)}/viewers`, { token }).catch(() => undefined);
      if (run === this.#run && split) this.#render(split);
    };
    void read();
    this.#timer = setInterval(() => void read(), POLL_MS);
  }

  stop(): void {
    this.#run++;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#render(undefined);
  }
}
