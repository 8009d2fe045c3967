#!/usr/bin/env node
// Runs every test: vitest (unit + integration against real mediasoup/SQLite) and Playwright (end-to-end in
// Debian's Chromium), then prints one line "N passed, N failed" counting both. Assumes scripts/setup.sh test ran.
// Extra arguments go to both runners (e.g. a file filter is better given to one runner directly:
// `npx vitest run test/unit` or `npx playwright test test/e2e/live.spec.ts`).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const results = path.join(root, 'test-results');
fs.mkdirSync(results, { recursive: true });
const bin = (name) => path.join(root, 'node_modules', '.bin', name);
const t0 = Date.now();

function run(title, cmd, args) {
  console.log(`\n==> ${title}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, FORCE_COLOR: process.env.FORCE_COLOR ?? '0' } });
  return r.status ?? 1;
}
function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

let passed = 0;
let failed = 0;

for (const f of ['vitest.json', 'playwright.json']) fs.rmSync(path.join(results, f), { force: true });

const vitestCode = run('vitest (unit + integration)', bin('vitest'), ['run']);
const v = readJson(path.join(results, 'vitest.json'));
if (v) {
  passed += v.numPassedTests ?? 0;
  failed += (v.numFailedTests ?? 0) + (vitestCode !== 0 && !v.numFailedTests ? 1 : 0);
} else {
  failed += 1; // vitest did not even report: count the run as one failure
}

if (fs.existsSync(path.join(root, 'playwright.config.ts'))) {
  const pwCode = run('playwright (end-to-end, Debian Chromium)', bin('playwright'), ['test']);
  const p = readJson(path.join(results, 'playwright.json'));
  if (p?.stats) {
    passed += (p.stats.expected ?? 0) + (p.stats.flaky ?? 0);
    failed += p.stats.unexpected ?? 0;
    if (pwCode !== 0 && !p.stats.unexpected) failed += 1;
  } else {
    failed += 1;
  }
}

const line = `${passed} passed, ${failed} failed`;
fs.writeFileSync(path.join(results, 'summary.txt'), `${line}\n`);
console.log(`\nall tests ran in ${Math.round((Date.now() - t0) / 1000)} s`);
console.log(line);
process.exit(failed > 0 ? 1 : 0);
