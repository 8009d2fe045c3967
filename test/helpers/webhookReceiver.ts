/**
 * A webhook receiver for tests: a real HTTP server on 127.0.0.1 that keeps every request (path, headers, raw
 * body) and answers with what `respond` says (default 204). And the verifiers of docs/webhooks.md, taken from
 * the document itself, so the tests check the code users copy.
 *
 * Lifetime: `startReceiver()` listens on a free port; `close()` ends it and its connections. Twice is harmless.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AddressInfo } from 'node:net';

export interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface Receiver {
  url: string;
  port: number;
  received: Received[];
  /** Requests to one path. */
  at(p: string): Received[];
  /** The status for a request (default 204). */
  respond: (r: Received, nthAtPath: number) => number;
  close(): Promise<void>;
}

export async function startReceiver(port = 0): Promise<Receiver> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = { path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(r);
      const status = self.respond(r, received.filter((x) => x.path === r.path).length);
      res.writeHead(status).end(status >= 400 ? 'no' : '');
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const bound = (server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  const self: Receiver = {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    received,
    at: (p) => received.filter((r) => r.path === p),
    respond: () => 204,
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
  return self;
}

/** A fenced code block of docs/webhooks.md that follows `<!-- marker -->`. */
export function docBlock(marker: string): string {
  const doc = fs.readFileSync(path.join(import.meta.dirname, '../../docs/webhooks.md'), 'utf8');
  const m = new RegExp(`<!-- ${marker} -->\\s*\`\`\`\\w+\\n([\\s\\S]*?)\`\`\``).exec(doc);
  if (!m) throw new Error(`docs/webhooks.md has no code block after <!-- ${marker} -->`);
  return m[1]!;
}

export type NodeVerifier = (rawBody: string, header: string | undefined, secret: string, nowMs?: number) => unknown;

/** The Node.js verifier of docs/webhooks.md, loaded as a module. */
export async function docNodeVerifier(): Promise<NodeVerifier> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onair-verifier-'));
  const file = path.join(dir, 'verify.mjs');
  fs.writeFileSync(file, docBlock('verifier:node'));
  const mod = (await import(pathToFileURL(file).href)) as { verifyOnAirWebhook: NodeVerifier };
  fs.rmSync(dir, { recursive: true, force: true });
  return mod.verifyOnAirWebhook;
}

/**
 * Runs the Python verifier of docs/webhooks.md with python3 on one delivery; resolves to the event's `id` it
 * returned, or rejects with Python's error.
 */
export function docPythonVerify(r: Received, secret: string): Promise<string> {
  const program = `${docBlock('verifier:python')}
import sys
event = verify_onair_webhook(sys.stdin.buffer.read(), sys.argv[1], sys.argv[2])
print(event["id"])
`;
  return new Promise((resolve, reject) => {
    const child = execFile('python3', ['-c', program, String(r.headers['onair-signature'] ?? ''), secret], { timeout: 20_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`python verifier: ${stderr.trim() || err.message}`));
      else resolve(stdout.trim());
    });
    child.stdin!.end(Buffer.from(r.body, 'utf8'));
  });
}
