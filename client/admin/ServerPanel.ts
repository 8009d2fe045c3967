/** The server: version, uptime, memory, live streams and viewers, ffmpeg processes, HLS bridges, each mediasoup worker's load. */
import type { AdminServerStatus } from '../../shared/adminApi.js';
import { byId, h, replaceChildren } from '../ui/dom.js';
import { formatDuration } from '../ui/format.js';
import type { AdminContext } from './AdminConsole.js';

const mb = (bytes: number) => `${Math.round(bytes / 1_048_576)} MB`;

export class ServerPanel {
  readonly #ctx: AdminContext;
  readonly #stats = byId('server-stats');
  readonly #workers = byId('worker-rows');

  constructor(ctx: AdminContext) {
    this.#ctx = ctx;
  }

  async refresh(): Promise<void> {
    const s = await this.#ctx.call<AdminServerStatus>('GET', '/api/admin/server');
    const stat = (label: string, value: string | number, testid?: string) => h('div', {}, h('dt', {}, label), h('dd', testid ? { 'data-testid': testid } : {}, value));
    replaceChildren(
      this.#stats,
      stat('Version', s.version),
      stat('Up', formatDuration(s.uptimeSeconds * 1000)),
      stat('Memory', mb(s.memory.rssBytes)),
      stat('Live streams', s.liveStreams, 'server-live'),
      stat('Viewers', s.viewers),
      stat('HLS bridges', s.hlsBridges, 'server-hls-bridges'),
      stat('ffmpeg', s.ffmpeg.hls + s.ffmpeg.restream, 'server-ffmpeg'),
      stat('Node', s.node),
    );
    replaceChildren(
      this.#workers,
      ...s.workers.map((w) =>
        h('tr', {}, h('td', {}, w.index), h('td', {}, w.pid), h('td', {}, w.routers), h('td', {}, w.load), h('td', {}, w.cpuSeconds === null ? '–' : `${w.cpuSeconds.toFixed(1)} s`)),
      ),
    );
  }
}
