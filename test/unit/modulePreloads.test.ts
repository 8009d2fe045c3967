/**
 * scripts/modulePreloads.ts: the preload links written into the pages, on a metafile of the shape esbuild
 * writes with code splitting, and on a real esbuild build of the players' pages (chunk names are hashes:
 * only a real build shows that the mediasoup-client chunk behind its `lib-*.js` wrapper is found).
 */
import path from 'node:path';
import * as esbuild from 'esbuild';
import { describe, expect, it } from 'vitest';
import { preloadsFor, withModulePreloads, type BuildMetafile } from '../../scripts/modulePreloads.js';

const A = 'dist/public/assets';
const meta: BuildMetafile = {
  outputs: {
    [`${A}/watch.js`]: {
      entryPoint: 'client/pages/watch.ts',
      imports: [
        { path: `${A}/chunk-PLAYER.js`, kind: 'import-statement' },
        { path: `${A}/chunk-SOCKET.js`, kind: 'import-statement' },
      ],
    },
    [`${A}/chunk-PLAYER.js`]: {
      imports: [
        { path: `${A}/chunk-COMMON.js`, kind: 'import-statement' },
        { path: `${A}/lib-MSC.js`, kind: 'dynamic-import' },
        { path: `${A}/hls-HLS.js`, kind: 'dynamic-import' },
        { path: 'https://example.com/x.js', kind: 'import-statement', external: true },
      ],
    },
    [`${A}/chunk-SOCKET.js`]: { imports: [{ path: `${A}/chunk-COMMON.js`, kind: 'import-statement' }] },
    [`${A}/chunk-COMMON.js`]: { imports: [] },
    [`${A}/lib-MSC.js`]: {
      entryPoint: 'node_modules/mediasoup-client/lib/index.js',
      imports: [
        { path: `${A}/chunk-MSCBODY.js`, kind: 'import-statement' },
        { path: `${A}/chunk-COMMON.js`, kind: 'import-statement' },
      ],
    },
    [`${A}/chunk-MSCBODY.js`]: { imports: [{ path: `${A}/chunk-COMMON.js`, kind: 'import-statement' }] },
    [`${A}/hls-HLS.js`]: { entryPoint: 'node_modules/hls.js/dist/hls.mjs', imports: [{ path: `${A}/chunk-COMMON.js`, kind: 'import-statement' }] },
    [`${A}/index.js`]: { entryPoint: 'client/pages/index.ts', imports: [{ path: `${A}/chunk-COMMON.js`, kind: 'import-statement' }] },
  },
};

describe('preloadsFor', () => {
  it('lists the static imports transitively, each once, without the entry or dynamic imports', () => {
    expect(preloadsFor(meta, `${A}/watch.js`)).toEqual([`${A}/chunk-PLAYER.js`, `${A}/chunk-SOCKET.js`, `${A}/chunk-COMMON.js`]);
  });

  it('adds the dynamic imports of the named packages after the static ones, with their own static imports', () => {
    expect(preloadsFor(meta, `${A}/watch.js`, ['mediasoup-client'])).toEqual([
      `${A}/chunk-PLAYER.js`,
      `${A}/chunk-SOCKET.js`,
      `${A}/chunk-COMMON.js`,
      `${A}/lib-MSC.js`,
      `${A}/chunk-MSCBODY.js`,
    ]);
  });

  it('does not take a package whose name only starts like the named one', () => {
    expect(preloadsFor(meta, `${A}/watch.js`, ['mediasoup'])).not.toContain(`${A}/lib-MSC.js`);
  });

  it('refuses an entry the build did not write', () => {
    expect(() => preloadsFor(meta, `${A}/nope.js`)).toThrow(/no output/);
  });
});

describe('withModulePreloads', () => {
  const opts = { outdir: A, publicPath: '/assets/' };

  it('writes the links after the page script, as same-origin URLs', () => {
    const html = '<head>\n  <script type="module" src="/assets/index.js"></script>\n</head>';
    expect(withModulePreloads(html, meta, opts)).toBe(
      '<head>\n  <script type="module" src="/assets/index.js"></script>\n  <link rel="modulepreload" href="/assets/chunk-COMMON.js">\n</head>',
    );
  });

  it('leaves scripts from elsewhere alone and fails on a page script the build did not write', () => {
    const other = '<script type="module" src="/other/x.js"></script>';
    expect(withModulePreloads(other, meta, opts)).toBe(other);
    expect(() => withModulePreloads('<script type="module" src="/assets/gone.js"></script>', meta, opts)).toThrow(/gone\.js/);
  });
});

describe('on a real build of the players’ pages', () => {
  it('preloads mediasoup-client’s chunk for the watch page, and never hls.js', async () => {
    const root = path.resolve(import.meta.dirname, '../..');
    const { metafile } = await esbuild.build({
      entryPoints: ['client/pages/watch.ts', 'client/pages/embed.ts', 'client/pages/index.ts'].map((p) => path.join(root, p)),
      absWorkingDir: root,
      outdir: path.join(root, 'dist-test-preloads'),
      bundle: true,
      format: 'esm',
      splitting: true,
      minify: true,
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const html = '<script type="module" src="/assets/watch.js"></script>';
    const out = withModulePreloads(html, metafile, { outdir: 'dist-test-preloads', publicPath: '/assets/', dynamicPackages: ['mediasoup-client'] });
    const hrefs = [...out.matchAll(/modulepreload" href="\/assets\/([^"]+)"/g)].map((m) => m[1]!);
    const bytesOf = (f: string) => metafile.outputs[`dist-test-preloads/${f}`]!.bytes;
    // mediasoup-client's code (~200 kB) is in one of the preloaded files; hls.js's in none.
    const mediasoupBody = hrefs.find((f) => Object.keys(metafile.outputs[`dist-test-preloads/${f}`]!.inputs).some((i) => i.includes('node_modules/mediasoup-client/')));
    expect(mediasoupBody).toBeDefined();
    expect(bytesOf(mediasoupBody!)).toBeGreaterThan(100_000);
    const hlsJs = Object.keys(metafile.outputs).filter((o) => Object.keys(metafile.outputs[o]!.inputs).some((i) => i.includes('node_modules/hls.js/')));
    expect(hlsJs).toHaveLength(1); // the build has it (light: ~370 kB), lazily
    expect(hrefs.some((f) => hlsJs.includes(`dist-test-preloads/${f}`))).toBe(false);
    // The socket.io client (shared with the embed page: a chunk of its own) is preloaded before mediasoup-client.
    const socket = hrefs.findIndex((f) => Object.keys(metafile.outputs[`dist-test-preloads/${f}`]!.inputs).some((i) => i.includes('node_modules/socket.io-client/')));
    expect(socket).toBeGreaterThanOrEqual(0);
    expect(socket).toBeLessThan(hrefs.indexOf(mediasoupBody!));
    // Without the package named, the watch page preloads only its static chunks.
    const plain = withModulePreloads(html, metafile, { outdir: 'dist-test-preloads', publicPath: '/assets/' });
    expect(plain).not.toContain(mediasoupBody!);
  });
});
