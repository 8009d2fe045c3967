#!/usr/bin/env node
// Builds OnAir: the server with tsc into dist/ (server/, shared/), the browser code with esbuild into
// dist/public/assets, and copies the HTML pages and styles from client/ into dist/public, each page with
// `<link rel="modulepreload">` tags for the chunks its script needs (scripts/modulePreloads.ts).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { tsImport } from 'tsx/esm/api';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist');
const t0 = Date.now();

console.log('    tsc (server, shared)…');
execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.server.json'), '--outDir', out], {
  stdio: 'inherit',
  cwd: root,
});

const pub = path.join(out, 'public');
fs.rmSync(pub, { recursive: true, force: true });
fs.mkdirSync(path.join(pub, 'assets'), { recursive: true });

const pagesDir = path.join(root, 'client', 'pages');
const entries = fs.existsSync(pagesDir) ? fs.readdirSync(pagesDir).filter((f) => f.endsWith('.ts')) : [];
console.log(`    esbuild (${entries.length} page scripts)…`);
let metafile;
if (entries.length) {
  ({ metafile } = await esbuild.build({
    entryPoints: entries.map((f) => path.join(pagesDir, f)),
    outdir: path.join(pub, 'assets'),
    bundle: true,
    format: 'esm',
    splitting: true,
    target: ['chrome110', 'firefox115', 'safari16'],
    minify: true,
    sourcemap: true,
    logLevel: 'warning',
    define: { 'process.env.NODE_ENV': '"production"' },
    metafile: true,
    absWorkingDir: root,
  }));
}
const { withModulePreloads } = await tsImport('./modulePreloads.ts', import.meta.url);
/** The players' pages start with WebRTC: mediasoup-client (a dynamic import) is fetched with the page. */
const PRELOAD_DYNAMIC = { 'watch.html': ['mediasoup-client'], 'embed.html': ['mediasoup-client'] };
for (const f of fs.existsSync(path.join(root, 'client', 'html')) ? fs.readdirSync(path.join(root, 'client', 'html')) : []) {
  const from = path.join(root, 'client', 'html', f);
  if (!f.endsWith('.html')) {
    fs.copyFileSync(from, path.join(pub, 'assets', f));
    continue;
  }
  let html = fs.readFileSync(from, 'utf8');
  if (metafile) {
    html = withModulePreloads(html, metafile, { outdir: 'dist/public/assets', publicPath: '/assets/', dynamicPackages: PRELOAD_DYNAMIC[f] ?? [] });
  }
  fs.writeFileSync(path.join(pub, f), html);
}
console.log(`    built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
