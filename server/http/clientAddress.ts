/**
 * Which address a request comes from, for every per-address limit: failed logins and WHIP/WHEP offers (express's
 * `req.ip`) and signaling sockets per address (`clientAddress`, for socket.io's handshake, which express never
 * sees). Both follow one rule, `trustProxy`: a hop on this host (loopback: a reverse proxy such as nginx on the
 * same machine) may name the client in X-Forwarded-For; any other hop is the client, whatever it claims.
 */
import type { IncomingMessage } from 'node:http';
import net from 'node:net';

const loopback = new net.BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/** Express's `trust proxy` setting (also matches IPv4-mapped IPv6 such as ::ffff:127.0.0.1). */
export function trustProxy(address: string): boolean {
  const family = net.isIP(address);
  return family !== 0 && loopback.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

/**
 * What express's `req.ip` gives for this request: from the connection's peer, back through X-Forwarded-For
 * (rightmost first) while the hop is trusted.
 */
export function clientAddress(req: Pick<IncomingMessage, 'socket' | 'headers'>): string {
  const forwarded = String(req.headers['x-forwarded-for'] ?? '')
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
  const hops = [req.socket.remoteAddress ?? 'unknown', ...forwarded.reverse()];
  let i = 0;
  while (i < hops.length - 1 && trustProxy(hops[i]!)) i++;
  return hops[i]!;
}
