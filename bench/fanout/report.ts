/** The fan-out benchmark in bench/results.json and bench/RESULTS.md: headline figures and a table of steps. */
import { figure, type Figure } from '../common.js';
import type { FanoutRun } from './fanout.js';

export const FANOUT_TARGETS = {
  perCore: '≥ 1000 consumers per worker core at < 1 % loss',
  scaling: '2 workers ≥ 1.8× one',
} as const;

export function fanoutFigures(runs: FanoutRun[]): Figure[] {
  const figures: Figure[] = [];
  const one = runs.find((r) => r.workers === 1);
  for (const run of runs) {
    const label = run.workers === 1 ? 'one worker (one core)' : `${run.workers} workers`;
    figures.push(
      figure(`Fan-out, 720p simulcast + audio: viewers for ${label} at < 1 % loss`, 'viewers', [run.capacity]),
      figure(`Fan-out: consumers for ${label} at < 1 % loss`, 'consumers', [run.capacity * 2], run.workers === 1 ? FANOUT_TARGETS.perCore : undefined),
    );
    if (run.workers > 1 && one?.capacity) {
      figures.push(figure(`Fan-out: ${run.workers} workers ÷ one worker`, '×', [run.capacity / one.capacity], FANOUT_TARGETS.scaling));
    }
  }
  return figures;
}

/** Markdown lines: one row per measured step, and why each run stopped. */
export function fanoutTable(runs: FanoutRun[]): string[] {
  if (runs.length === 0) return [];
  return [
    '## Fan-out capacity (one 720p30 3-layer simulcast VP8 + Opus stream)',
    '',
    'Lightweight receivers (bench/fanout/Receiver.ts: real ICE + DTLS-SRTP transports on the server, RTP counted from clear headers) in one process. ' +
      'Worker CPU in % of one core, and how busy its core was (softirq: the kernel delivering loopback packets); egress = bytes the receivers got; ' +
      'loss from RTP sequence numbers; video per viewer vs the source\'s top layer; datagrams dropped at full socket buffers.',
    '',
    '| workers | viewers | consumers | worker CPU % | worker core busy % (softirq) | egress Mbps | packets/s | loss % | video kbps per viewer / top layer | receivers CPU % | socket drops: workers / receivers |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...runs.flatMap((run) =>
      run.rows.map(
        (r) =>
          `| ${r.workers} | ${r.viewers} | ${r.consumers} | ${r.workerCpu.join(' + ')} | ${r.workerCoreBusy.join(' + ')} (${r.workerCoreSoftirq.join(' + ')}) | ${r.egressMbps} | ${r.packetsPerSecond} | ${r.lossPct} | ${r.videoKbpsPerViewer} / ${r.topLayerKbps} | ${r.receiverCpu} | ${r.udpDrops.workers} / ${r.udpDrops.receivers} |`,
      ),
    ),
    '',
    ...runs.map((run) => `- ${run.workers} worker(s): capacity ${run.capacity} viewers (${run.capacity * 2} consumers); stopped: ${run.stoppedBecause}. Pinning: ${run.pinning}.`),
    '',
  ];
}
