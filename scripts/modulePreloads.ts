/**
 * `<link rel="modulepreload">` tags for a page's script, computed from esbuild's metafile (scripts/build.mjs
 * writes them into the copied HTML). Pure: the metafile and the HTML in, the HTML out.
 *
 * Why: with code splitting, a page's entry script names its shared chunks only in its own import
 * statements, so the browser discovers them after fetching and parsing the entry (one round trip and a
 * parse later), and a chunk that a dynamic import reaches (mediasoup-client, ~216 kB, behind a tiny `lib-*.js`
 * wrapper) a level or two further down. The viewer's first frame waits on every level of that waterfall.
 * Preload links let the browser fetch (and compile) them all while it parses the HTML.
 *
 * Which files: the entry's static imports, transitively; and, for the packages a page names
 * (`dynamicPackages`), each dynamic import whose entry point is in that package, with its own static imports.
 * Other dynamic imports (hls.js, 370 kB, needed only in Standard mode) stay lazy.
 * The links are same-origin files, allowed by the pages' `script-src 'self'`.
 */

/** The part of esbuild's `Metafile` this reads (paths relative to esbuild's working directory). */
export interface BuildMetafile {
  outputs: Record<string, { entryPoint?: string; imports: readonly { path: string; kind: string; external?: boolean }[] }>;
}

export interface PreloadOptions {
  /** The metafile's output path of the directory served at `publicPath` (e.g. 'dist/public/assets'). */
  outdir: string;
  /** The URL path of that directory (e.g. '/assets/'). */
  publicPath: string;
  /** npm packages whose dynamic imports are preloaded too (e.g. ['mediasoup-client']). */
  dynamicPackages?: readonly string[];
}

/**
 * Output paths (metafile keys) to preload for the entry output `entry`, in a stable order: static imports
 * breadth-first, then each chosen dynamic import and its static imports. The entry itself is not listed.
 */
export function preloadsFor(metafile: BuildMetafile, entry: string, dynamicPackages: readonly string[] = []): string[] {
  if (!metafile.outputs[entry]) throw new Error(`no output ${entry} in the metafile`);
  const seen = new Set<string>([entry]);
  const order: string[] = [];
  const dynamic: string[] = [];
  const walk = (start: string) => {
    const queue = [start];
    while (queue.length > 0) {
      const out = metafile.outputs[queue.shift()!];
      for (const imp of out?.imports ?? []) {
        if (imp.external) continue;
        if (imp.kind === 'dynamic-import') {
          if (wantedDynamic(metafile, imp.path, dynamicPackages) && !dynamic.includes(imp.path)) dynamic.push(imp.path);
          continue;
        }
        if (imp.kind !== 'import-statement' || seen.has(imp.path)) continue;
        seen.add(imp.path);
        order.push(imp.path);
        queue.push(imp.path);
      }
    }
  };
  walk(entry);
  // Chosen dynamic imports come after every static one: the page's own modules are needed first.
  for (let i = 0; i < dynamic.length; i++) {
    const d = dynamic[i]!;
    if (seen.has(d)) continue;
    seen.add(d);
    order.push(d);
    walk(d);
  }
  return order;
}

function wantedDynamic(metafile: BuildMetafile, output: string, packages: readonly string[]): boolean {
  const entryPoint = metafile.outputs[output]?.entryPoint;
  if (!entryPoint) return false;
  return packages.some((pkg) => entryPoint.startsWith(`node_modules/${pkg}/`) || entryPoint.includes(`/node_modules/${pkg}/`));
}

/** The output path a page's `<script type="module" src="…">` names, or undefined if it is not one of ours. */
function outputOfSrc(src: string, opts: PreloadOptions): string | undefined {
  if (!src.startsWith(opts.publicPath)) return undefined;
  const rel = src.slice(opts.publicPath.length);
  if (!rel || rel.includes('..') || rel.includes('?') || rel.includes('#')) return undefined;
  return `${opts.outdir.replace(/\/$/, '')}/${rel}`;
}

const MODULE_SCRIPT = /<script type="module" src="([^"]+)"><\/script>/g;

/**
 * The page's HTML with preload links after each of its module scripts. Throws when a script names a file
 * under `publicPath` that the build did not write (a renamed page would otherwise load nothing).
 */
export function withModulePreloads(html: string, metafile: BuildMetafile, opts: PreloadOptions): string {
  return html.replace(MODULE_SCRIPT, (tag: string, src: string) => {
    const entry = outputOfSrc(src, opts);
    if (!entry) return tag;
    if (!metafile.outputs[entry]) throw new Error(`${src}: the build wrote no ${entry}`);
    const links = preloadsFor(metafile, entry, opts.dynamicPackages).map(
      (out) => `<link rel="modulepreload" href="${opts.publicPath}${out.slice(opts.outdir.replace(/\/$/, '').length + 1)}">`,
    );
    // The entry first: it is needed first, and HTTP/1.1 fetches only six files at a time.
    return [tag, ...links].join('\n  ');
  });
}
