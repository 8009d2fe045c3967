/** Starts a real OnAir (real mediasoup worker, real SQLite in a temp dir) on free ports, for one test file. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startOnAir, type OnAir } from '../../server/app.js';
import { loadConfig } from '../../server/config/config.js';
import type { DestinationStream } from 'pino';
import { createLogger } from '../../server/log/logger.js';

export const ADMIN = { username: 'admin', password: 'admin-password-1' };

export interface TestServer extends OnAir {
  dataDir: string;
  /** fetch against the server, JSON in and out. */
  api(method: string, path: string, opts?: { token?: string; body?: unknown; headers?: Record<string, string> }): Promise<{ status: number; body: any; headers: Headers }>;
  login(username?: string, password?: string): Promise<string>;
  /** Creates a broadcaster account and returns its access token. */
  broadcaster(username: string): Promise<string>;
}

/** `logTo` receives the server's log lines (JSON, one per write), at LOG_LEVEL from `env`. */
export async function startTestServer(env: Record<string, string> = {}, dataDir?: string, opts: { logTo?: DestinationStream } = {}): Promise<TestServer> {
  const dir = dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'onair-test-'));
  const config = loadConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    ONAIR_DATA_DIR: dir,
    ONAIR_RTC_PORT: '0',
    // Any free ports: test files run in parallel.
    ONAIR_RTMP_PORT: '0',
    ONAIR_SRT_PORT: '0',
    ONAIR_RTC_LISTEN_IP: '127.0.0.1',
    ONAIR_WORKERS: '1',
    ONAIR_ADMIN_USER: ADMIN.username,
    ONAIR_ADMIN_PASSWORD: ADMIN.password,
    LOG_LEVEL: process.env.ONAIR_TEST_LOG ?? 'silent',
    ...env,
  });
  const onair = await startOnAir(config, createLogger(config.logLevel, opts.logTo));
  const api: TestServer['api'] = async (method, p, opts = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(onair.url + p, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed, headers: res.headers };
  };
  const login = async (username = ADMIN.username, password = ADMIN.password) => {
    const r = await api('POST', '/api/auth/login', { body: { username, password } });
    if (r.status !== 200) throw new Error(`login failed: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.token as string;
  };
  const broadcaster = async (username: string) => {
    const admin = await login();
    const r = await api('POST', '/api/users', { token: admin, body: { username, password: `${username}-password`, role: 'broadcaster' } });
    if (r.status !== 201) throw new Error(`create user failed: ${r.status} ${JSON.stringify(r.body)}`);
    return login(username, `${username}-password`);
  };
  return { ...onair, dataDir: dir, api, login, broadcaster };
}
