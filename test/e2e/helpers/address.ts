/**
 * The end-to-end tests' OnAir servers (playwright.config.ts starts both, each with its own fresh data
 * directory): specs take addresses and data directories from here, never hard-coded ports.
 * - `main`: the default settings (BASE_URL, the config's baseURL);
 * - `hlsOnly`: ONAIR_MAX_WEBRTC_VIEWERS=0, so that every viewer is sent to HLS.
 */
export interface E2EServer {
  port: number;
  baseURL: string;
  /** The environment variable holding its data directory (set by playwright.config.ts, inherited by workers). */
  dataDirVariable: string;
}

function server(port: number, dataDirVariable: string): E2EServer {
  return { port, baseURL: `http://127.0.0.1:${port}`, dataDirVariable };
}

export const E2E_SERVERS = {
  main: server(18080, 'ONAIR_E2E_DATA_DIR'),
  hlsOnly: server(18081, 'ONAIR_E2E_HLS_ONLY_DATA_DIR'),
} as const;

export const E2E_PORT = E2E_SERVERS.main.port;
export const BASE_URL = E2E_SERVERS.main.baseURL;

/** A server's data directory (ffmpeg's command line names it: see test/e2e/hls.spec.ts). */
export function dataDirOf(s: E2EServer): string {
  const dir = process.env[s.dataDirVariable];
  if (!dir) throw new Error(`${s.dataDirVariable} is not set: run the tests through playwright.config.ts`);
  return dir;
}
