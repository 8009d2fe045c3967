/**
 * Hostile input to the webhook API (fast-check, fixed seed; WEBHOOK_FUZZ_SEED=<n> for another run), against a
 * real server with private addresses refused (the default): mutated bodies, URLs that spell loopback and
 * private addresses every way the URL parser accepts (decimal, hex, short forms, IPv4-mapped IPv6, trailing
 * dots, case), hostile ids and queries. Every answer is a proper error or a success; no hook is ever stored
 * that points at a refused address; the server keeps answering.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../shared/errors.js';
import { isPrivateAddress } from '../../server/webhooks/addressPolicy.js';
import { encode, hostileString, mutated } from '../helpers/hostile.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';

const SEED = Number(process.env.WEBHOOK_FUZZ_SEED ?? 20_261_130);

let s: TestServer;
let ann: string;
beforeAll(async () => {
  s = await startTestServer({ ONAIR_HLS: 'off' });
  ann = await s.broadcaster('ann');
}, 90_000);
afterAll(async () => s?.close());

/** Loopback and private addresses as the URL parser (WHATWG) still takes them. */
const SNEAKY_HOSTS = [
  '127.0.0.1', '127.1', '0x7f.1', '0x7f000001', '2130706433', '017700000001', '0177.0.0.1', '127.000.000.001', 'LOCALHOST', 'localhost.',
  '[::1]', '[0:0:0:0:0:0:0:1]', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]', '[::ffff:10.0.0.1]', '[64:ff9b::a9fe:a9fe]', '[fd00::1]', '[fe80::1%25eth0]',
  '10.0.0.1', '10.1', '167772161', '172.16.0.1', '192.168.1.1', '169.254.169.254', '0xa9fea9fe', '2852039166', '100.64.0.1', '0.0.0.0', '0', '[::]',
  '224.0.0.1', '255.255.255.255',
];

const urlArb = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.constantFrom('http', 'https', 'HTTP', 'hTTps'), fc.constantFrom(...SNEAKY_HOSTS), fc.constantFrom('', ':80', ':8080', ':0', ':65535'), fc.constantFrom('', '/', '/hook?x=1', '/%2e%2e/')).map(([p, h, port, path]) => `${p}://${h}${port}${path}`) },
  { weight: 1, arbitrary: fc.constantFrom('ftp://example.com/', 'file:///etc/passwd', 'gopher://127.0.0.1:70/', 'data:text/plain,x', 'javascript:alert(1)', 'ws://example.com/', 'http://', 'http:///x', '//example.com/x', 'http://a b.example/', 'https://user@example.com/', 'https://:pw@example.com/') },
  { weight: 2, arbitrary: hostileString() },
);

describe('webhook API under hostile input', () => {
  it('refuses every spelling of a loopback or private host', async () => {
    for (const host of SNEAKY_HOSTS) {
      const r = await s.api('POST', '/api/webhooks', { token: ann, body: { url: `http://${host}:8080/hook` } });
      expect(r.status, host).toBe(400);
      expect(r.body.error, host).toBe('validation_failed');
    }
  });

  it('answers every input with a proper error or a success, and never stores a hook at a refused address', async () => {
    const refused: string[] = [];
    const bodies = fc.oneof(
      { weight: 3, arbitrary: urlArb.map((url) => ({ url })) },
      { weight: 2, arbitrary: mutated({ url: 'http://127.0.0.1/', events: ['stream.live'], description: 'd' }) },
      { weight: 1, arbitrary: fc.tuple(urlArb, fc.array(hostileString(), { maxLength: 6 })).map(([url, events]) => ({ url, events })) },
    );
    const ids = fc.oneof(fc.constantFrom('server', 'wh_aaaaaaaaaaaaaaaa', '..', '%2e%2e', '%00', 'wh_' + 'a'.repeat(300)), hostileString().map(encode));
    const queries = fc.oneof(fc.constant(''), fc.constantFrom('?limit=-1', '?limit=1e9', '?offset=NaN', '?limit=5&limit=6', '?__proto__[x]=1', '?limit=%00'), hostileString().map((q) => `?${encode(q)}=${encode(q)}`));
    const inputs = fc.oneof(
      { weight: 4, arbitrary: bodies.map((body) => ({ method: 'POST', path: '/api/webhooks', body })) },
      { weight: 1, arbitrary: fc.tuple(fc.constantFrom('GET', 'DELETE', 'PUT', 'PATCH', 'POST'), ids).map(([method, id]) => ({ method, path: `/api/webhooks/${id}`, body: undefined })) },
      { weight: 1, arbitrary: fc.tuple(ids, queries).map(([id, q]) => ({ method: 'GET', path: `/api/webhooks/${id}/deliveries${q}`, body: undefined })) },
    );
    const samples = fc.sample(inputs, { numRuns: 600, seed: SEED });
    for (const input of samples) {
      const r = await s.api(input.method, input.path, { token: ann, body: input.body });
      const what = `${input.method} ${input.path} ${JSON.stringify(input.body)?.slice(0, 200)}`;
      expect(r.status, what).toBeLessThan(500);
      if (r.status >= 400) {
        expect(ERROR_CODES, what).toContain(r.body?.error);
        expect(r.body.error, what).not.toBe('internal');
      }
      if (r.status === 201) {
        // Made: it must point at a public address (only IP literals can be judged without DNS here).
        const host = new URL(r.body.url as string).hostname.replace(/^\[(.*)\]$/, '$1');
        if (isPrivateAddress(host) && /^[\d.:a-f]+$/i.test(host)) refused.push(r.body.url as string);
        await s.api('DELETE', `/api/webhooks/${r.body.id as string}`, { token: ann });
      }
    }
    expect(refused).toEqual([]);
    // Nothing stored points at a private address, by IP or by a name resolving to one.
    const left = await s.catalogue.webhooks.listByOwner((await s.services.users.byUsername('ann'))!.id);
    expect(left).toEqual([]);
    expect((await s.api('GET', '/healthz')).status).toBe(200);
  }, 120_000);
});
