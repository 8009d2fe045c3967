/**
 * "Someone else's site": a throwaway HTTP server on another port of 127.0.0.1 (so another origin) whose page
 * embeds an OnAir player in an iframe, records the player's messages in `window.__messages` and sends it
 * commands with `window.__command(name)`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface EmbedderSite {
  url: string;
  close(): Promise<void>;
}

declare global {
  interface Window {
    __messages?: { origin: string; source: string; type: string; [key: string]: unknown }[];
    __command?: (command: string) => void;
  }
}

export async function startEmbedderSite(embedUrl: string): Promise<EmbedderSite> {
  const page = `<!doctype html>
<html><head><meta charset="utf-8"><title>A blog</title></head>
<body>
<h1>A blog post with a live stream</h1>
<script>
  window.__messages = [];
  window.addEventListener('message', (e) => {
    if (e.data && e.data.source === 'onair') window.__messages.push({ origin: e.origin, ...e.data });
  });
  window.__command = (command) => document.getElementById('onair').contentWindow.postMessage({ source: 'onair', command }, '*');
</script>
<iframe id="onair" src="${embedUrl}" width="640" height="360" allow="autoplay; fullscreen" style="border:0"></iframe>
</body></html>`;
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(page);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
