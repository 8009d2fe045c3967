/** Prometheus metrics (prom-client), one registry per server so several can run in one process (tests). */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export interface MetricSources {
  workersAlive(): number;
  streamsLive(): number;
  viewers(): number;
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
    this.loginFailures = new Counter({ name: 'onair_login_failures_total', help: 'failed logins', registers: r });
    this.signalingErrors = new Counter({ name: 'onair_signaling_errors_total', help: 'signaling requests answered with an error', labelNames: ['event'], registers: r });
  }
}
