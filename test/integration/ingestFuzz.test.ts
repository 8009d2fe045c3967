/**
 * Hostile input on the RTMP ingest port, over raw sockets: junk instead of a handshake, junk chunks after a
 * valid handshake, chunk headers announcing huge messages on many chunk streams, a connect command whose
 * tcUrl is no URL, a flood before any publish. Each must cost only its own connection: the server keeps
 * serving, every connection is dropped, and a real encoder still gets its answer afterwards.
 */
import crypto from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEncoder } from '../helpers/encoderSource.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { until } from '../helpers/until.js';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer({ ONAIR_HLS: 'off' });
}, 60_000);
afterAll(async () => {
  await s?.close();
});

/** Opens a socket to the RTMP port; resolves when the server closed it, with what it answered. */
function rtmpSession(script: (sock: net.Socket, received: () => Buffer) => Promise<void>): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(s.ingest.rtmpPort!, '127.0.0.1');
    const chunks: Buffer[] = [];
    const received = () => Buffer.concat(chunks);
    sock.on('data', (d) => chunks.push(d));
    sock.on('error', () => undefined);
    sock.once('close', () => resolve(received()));
    sock.once('connect', () => void script(sock, received).catch(reject));
  });
}

/** C0 + C1 (simple handshake), then C2 once S0+S1+S2 arrived. */
async function handshake(sock: net.Socket, received: () => Buffer): Promise<void> {
  const c1 = Buffer.alloc(1536);
  crypto.randomFillSync(c1, 8);
  sock.write(Buffer.concat([Buffer.from([3]), c1]));
  await until('S0 S1 S2', () => received().length >= 3073, 5000);
  sock.write(received().subarray(1, 1537));
}

/** A type-0 chunk header on chunk stream `csid` announcing a message of `length` bytes of `type`. */
const chunkHeader = (csid: number, length: number, type: number) =>
  Buffer.from([csid & 0x3f, 0, 0, 0, (length >> 16) & 0xff, (length >> 8) & 0xff, length & 0xff, type, 0, 0, 0, 0]);

const amfString = (v: string) => Buffer.concat([Buffer.from([2, v.length >> 8, v.length & 0xff]), Buffer.from(v)]);
const amfKey = (k: string) => Buffer.concat([Buffer.from([k.length >> 8, k.length & 0xff]), Buffer.from(k)]);
/** connect(transId 1, { app, tcUrl }) in AMF0. */
const connectCommand = (app: string, tcUrl: string) =>
  Buffer.concat([
    amfString('connect'),
    Buffer.from([0, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0]),
    Buffer.from([3]), amfKey('app'), amfString(app), amfKey('tcUrl'), amfString(tcUrl), Buffer.from([0, 0, 9]),
  ]);

const healthy = async () => (await fetch(`${s.url}/healthz`)).status === 200;

describe('RTMP ingest under hostile input', () => {
  it('drops junk instead of a handshake, junk chunks, huge announced messages, a bad tcUrl and a flood; keeps serving', async () => {
    const cases: Record<string, (sock: net.Socket, received: () => Buffer) => Promise<void>> = {
      'random bytes': async (sock) => void sock.write(crypto.randomBytes(5000)),
      'an HTTP request': async (sock) => void sock.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'.padEnd(2000, 'x')),
      'junk chunks after a valid handshake': async (sock, r) => {
        await handshake(sock, r);
        sock.write(crypto.randomBytes(20_000));
      },
      'a 16 MB message announced': async (sock, r) => {
        await handshake(sock, r);
        sock.write(Buffer.concat([chunkHeader(3, 0xffffff, 0x14), crypto.randomBytes(100)]));
      },
      'messages on many chunk streams': async (sock, r) => {
        await handshake(sock, r);
        for (let csid = 3; csid < 60; csid++) sock.write(Buffer.concat([chunkHeader(csid, 2_000_000, 0x14), Buffer.alloc(10)]));
      },
      'a connect whose tcUrl is no URL': async (sock, r) => {
        await handshake(sock, r);
        const body = connectCommand('live', '::not a url::');
        sock.write(Buffer.concat([chunkHeader(3, body.length, 0x14), body]));
      },
      'a flood before any publish': async (sock, r) => {
        await handshake(sock, r);
        const ping = Buffer.concat([chunkHeader(2, 4, 0x05), Buffer.alloc(4)]);
        for (let i = 0; i < 10_000; i++) sock.write(ping);
      },
    };
    for (const [name, script] of Object.entries(cases)) {
      await expect(rtmpSession(script), name).resolves.toBeInstanceOf(Buffer);
      expect(await healthy(), name).toBe(true);
    }
    await until('every connection dropped', () => s.ingest.rtmp!.connections.size === 0, 5000);
    expect(s.broadcasts.liveCount).toBe(0);

    // The port still answers a real encoder (here: a key that opens nothing).
    const enc = startEncoder(`rtmp://127.0.0.1:${s.ingest.rtmpPort}/live/sk_no_such_key_000000`, 'flv');
    expect(await enc.exited).not.toBe(0);
    expect(enc.stderr()).toContain('wrong stream key');
  }, 60_000);
});
