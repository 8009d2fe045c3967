/**
 * Debian's nginx in front of OnAir nodes, configured from the production file itself
 * (deploy/nginx/onair.conf), for tests: the same maps, upstreams, locations, cache and failover rules, with
 * only what a test must change rewritten (`nginxConfigFor`, a pure function):
 * - the node addresses of every upstream (each keeps the production line's parameters);
 * - TLS off: the port-80 redirect server is dropped, `listen 443 ssl …` becomes `listen 127.0.0.1:<port>`,
 *   the `ssl_*` lines go, and the sticky cookie loses `Secure` (Chromium keeps no Secure cookie over http);
 * - the cache, the access log, the temp folders and the pid file in the test's temp dir;
 * - `X-OnAir-Upstream: $upstream_addr` on answers of `location /`, so a test can tell which node a sticky
 *   cookie value leads to (production does not say which node answered).
 * A rewrite that finds nothing to rewrite throws: the production file changed shape, and the test must not
 * silently run something else.
 *
 * Lifetime: from `startNginxHttp()` to `stop()` (SIGINT: fast shutdown; SIGKILL after 5 s; the temp dir removed). One
 * process in the foreground (`master_process off`, `daemon off`): the test owns exactly one child, which
 * the exit hook of serverProcess.ts kills if the test process ends without stopping it.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort, requireBinary, spawnServer, waitUntilReady, type ServerProcess } from './serverProcess.js';

export const NGINX_TEMPLATE = path.join(import.meta.dirname, '../../deploy/nginx/onair.conf');
const BIN = '/usr/sbin/nginx';

export interface NginxConfigOptions {
  /** Loopback port nginx listens on. */
  port: number;
  /** The nodes, `host:port`, in upstream order. */
  nodes: string[];
  /** The test's temp dir (cache, logs, temp files). */
  dir: string;
}

/** One access-log line of the `onair` format. */
export interface AccessEntry {
  method: string;
  /** Path and query as the client asked. */
  uri: string;
  status: number;
  /** `$upstream_cache_status`: '-' when the location does not cache. */
  cache: string;
  /** `$upstream_addr`: '-' for a cache hit; several, comma-separated, when nginx tried more than one node. */
  upstream: string;
}

function replaceOnce(text: string, pattern: RegExp, by: string | ((m: string, ...g: string[]) => string), what: string): string {
  if (!pattern.test(text)) throw new Error(`deploy/nginx/onair.conf: no ${what} to rewrite (the file changed shape: update nginxHttp.ts)`);
  pattern.lastIndex = 0;
  return text.replace(pattern, by as (m: string, ...g: string[]) => string);
}

/** The production file with a test's addresses, ports and folders (see the header). */
export function nginxConfigFor(template: string, o: NginxConfigOptions): string {
  if (o.nodes.length === 0) throw new Error('at least one node');
  let c = template;
  // Every upstream: its server lines replaced by the nodes, keeping the first line's parameters.
  c = replaceOnce(
    c,
    /^(upstream \w+ \{\n)((?:.*\n)*?)(\})/gm,
    (_m, head: string, body: string, tail: string) => {
      const lines = body.split('\n');
      const first = lines.find((l) => /^\s*server \S+/.test(l));
      if (!first) throw new Error('an upstream without a server line');
      const params = /^\s*server \S+(.*);$/.exec(first)?.[1] ?? '';
      const servers = o.nodes.map((n) => `  server ${n}${params};`).join('\n');
      const kept = lines.flatMap((l) => (l === first ? [servers] : /^\s*server \S+/.test(l) ? [] : [l]));
      return `${head}${kept.join('\n')}${tail}`;
    },
    'upstream',
  );
  c = replaceOnce(c, /^server \{\n {2}listen 80;\n[\s\S]*?\n\}\n/m, '', 'port-80 redirect server');
  c = replaceOnce(c, /^ {2}listen 443 ssl http2;\n {2}listen \[::\]:443 ssl http2;$/m, `  listen 127.0.0.1:${o.port};`, 'TLS listen lines');
  c = replaceOnce(c, /^ {2}ssl_\w+ .*\n/gm, '', 'ssl_ lines');
  c = replaceOnce(c, /; Secure;/, ';', 'Secure cookie attribute');
  c = replaceOnce(c, /\/var\/cache\/nginx\/onair/, path.join(o.dir, 'cache'), 'proxy_cache_path');
  c = replaceOnce(c, /access_log \/var\/log\/nginx\/onair\.access\.log onair;/, `access_log ${path.join(o.dir, 'access.log')} onair;`, 'access_log');
  c = replaceOnce(c, /^( {4}add_header Set-Cookie \$onair_set_affinity;)$/m, '$1\n    add_header X-OnAir-Upstream $upstream_addr always;', 'location / add_header');
  const temp = (name: string) => `  ${name}_temp_path ${path.join(o.dir, `${name}-tmp`)};`;
  return `daemon off;
master_process off;
pid ${path.join(o.dir, 'nginx.pid')};
error_log ${path.join(o.dir, 'error.log')} warn;
events { worker_connections 4096; }
http {
${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(temp).join('\n')}
${c}
}
`;
}

/** Parses the access log written with the `onair` log_format. */
export function parseAccessLog(text: string): AccessEntry[] {
  const out: AccessEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /"(\S+) (\S+) [^"]*" (\d{3}) \d+ cache=(\S+) upstream=(.*) rt=/.exec(line);
    if (m) out.push({ method: m[1]!, uri: m[2]!, status: Number(m[3]), cache: m[4]!, upstream: m[5]!.trim() });
  }
  return out;
}

export interface NginxHttp {
  readonly port: number;
  /** http://127.0.0.1:<port> */
  readonly url: string;
  readonly dir: string;
  /** The access log so far. */
  accessLog(): AccessEntry[];
  /** nginx's error log so far. */
  errorLog(): string;
  /** Stops nginx and removes its dir. Twice is harmless. */
  stop(): Promise<void>;
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

/** nginx with deploy/nginx/onair.conf in front of `nodes` (host:port each), on `port` or a free loopback port. */
export async function startNginxHttp(nodes: string[], opts: { port?: number } = {}): Promise<NginxHttp> {
  requireBinary(BIN, 'nginx');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onair-nginx-http-'));
  const port = opts.port ?? (await freePort());
  const conf = path.join(dir, 'nginx.conf');
  fs.writeFileSync(conf, nginxConfigFor(fs.readFileSync(NGINX_TEMPLATE, 'utf8'), { port, nodes, dir }));
  let proc: ServerProcess;
  try {
    proc = spawnServer(BIN, ['-p', dir, '-e', path.join(dir, 'error.log'), '-c', conf], { cwd: dir });
    await waitUntilReady(`nginx on 127.0.0.1:${port}`, proc, () => accepts(port), 10_000);
  } catch (err) {
    const errors = fs.existsSync(path.join(dir, 'error.log')) ? fs.readFileSync(path.join(dir, 'error.log'), 'utf8') : '';
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`${(err as Error).message}\n${errors}`);
  }
  const read = (name: string) => {
    try {
      return fs.readFileSync(path.join(dir, name), 'utf8');
    } catch {
      return '';
    }
  };
  let stopped: Promise<void> | undefined;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    dir,
    accessLog: () => parseAccessLog(read('access.log')),
    errorLog: () => read('error.log'),
    stop: () =>
      (stopped ??= (async () => {
        await proc.stop(5_000);
        fs.rmSync(dir, { recursive: true, force: true });
      })()),
  };
}
