import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { boundUdpPorts, untilListening } from '../../server/ffmpeg/untilListening.js';

// Lines as Linux prints them (a trimmed /proc/net/udp and /proc/net/udp6).
const UDP4 = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
 1525: 0100007F:940A 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 2794367 2 00000000ff7c4e70 0
 1748: 00000000:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 2791893 2 000000008399bc5e 0
`;
const UDP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  712: 00000000000000000000000001000000:9C40 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 123 2 0000000000000000 0
`;

describe('boundUdpPorts', () => {
  it('reads the local port of every socket, IPv4 and IPv6, and skips the header', () => {
    expect([...boundUdpPorts(UDP4)].sort()).toEqual([0x14e9, 0x940a].sort());
    expect([...boundUdpPorts(UDP6)]).toEqual([0x9c40]);
  });
  it('ignores lines it cannot read', () => {
    expect(boundUdpPorts('header\n\ngarbage here\n 1: nothex:zz 0 0\n').size).toBe(0);
  });
});

describe('untilListening', () => {
  const sockets: dgram.Socket[] = [];
  afterEach(() => {
    for (const s of sockets.splice(0)) s.close();
  });
  const bind = (port = 0) =>
    new Promise<number>((resolve, reject) => {
      const s = dgram.createSocket('udp4');
      sockets.push(s);
      s.once('error', reject);
      s.bind(port, '127.0.0.1', () => resolve(s.address().port));
    });
  /** A port nobody holds: bound once by us, then freed. */
  const freePort = async () => {
    const p = await bind();
    sockets.pop()!.close();
    return p;
  };

  it('resolves "bound" once every port is bound, also when they are bound while it waits', async () => {
    const a = await bind();
    const b = await freePort();
    const waiting = untilListening([a, b], { signal: new AbortController().signal, timeoutMs: 5000 });
    setTimeout(() => void bind(b), 50);
    await expect(waiting).resolves.toBe('bound');
  });

  it('gives up after its bound with "timeout" when a port stays free', async () => {
    const p = await freePort();
    await expect(untilListening([p], { signal: new AbortController().signal, timeoutMs: 30 })).resolves.toBe('timeout');
  });

  it('rejects when its owner aborts', async () => {
    const p = await freePort();
    const ac = new AbortController();
    const waiting = untilListening([p], { signal: ac.signal, timeoutMs: 5000 });
    ac.abort();
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
  });
});
