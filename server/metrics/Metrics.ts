/** Prometheus metrics (prom-client), one registry per server so several can run in one process (tests). */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export interface MetricSources {
  workersAlive(): number;
  streamsLive(): number;
  viewers(): number;
  /** This node's viewers by delivery (server/admin/audienceSplit.ts). */
  viewersByDelivery?(): { webrtc: number; whep: number; hls: number };
}

export class Metrics {
  readonly registry = new Registry();
  readonly loginFailures: Counter;
  readonly signalingErrors: Counter<'event'>;

  constructor(sources: MetricSources) {
    collectDefaultMetrics({ register: this.registry, prefix: 'onair_' });
    const r = [this.registry];
    new Gauge({ name: 'onair_mediasoup_workers', help: 'mediasoup workers running', registers: r, collect() { this.set(sources.workersAlive()); } });
    new Gauge({ name: 'onair_streams_live', help: 'streams broadcasting now', registers: r, collect() { this.set(sources.streamsLive()); } });
    new Gauge({ name: 'onair_viewers', help: 'viewers watching now, over all streams', registers: r, collect() { this.set(sources.viewers()); } });
    if (sources.viewersByDelivery) {
      const split = sources.viewersByDelivery.bind(sources);
      new Gauge({
        name: 'onair_viewers_by_delivery',
        help: 'viewers receiving media on this node now, by delivery (webrtc, whep, hls)',
        labelNames: ['delivery'],
        registers: r,
        collect() {
          for (const [delivery, n] of Object.entries(split())) this.set({ delivery }, n);
        },
      });
    }
    this.loginFailures = new Counter({ name: 'onair_login_failures_total', help: 'failed logins', registers: r });
    this.signalingErrors = new Counter({ name: 'onair_signaling_errors_total', help: 'signaling requests answered with an error', labelNames: ['event'], registers: r });
  }
}
