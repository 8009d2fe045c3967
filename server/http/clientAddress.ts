/**
 * Which address a request comes from, for every per-address limit: failed logins and WHIP/WHEP offers (express's
 * `req.ip`) and signaling sockets and chat per address (`clientAddress`, for socket.io's handshake, which express
 * never sees). Both follow one rule, a `ProxyTrust`: a hop on this host (loopback: a reverse proxy such as nginx on
 * the same machine) or in ONAIR_TRUSTED_PROXIES (nginx on another host or in a container: its address or subnet)
 * may name the client in X-Forwarded-For; any other hop is the client, whatever it claims.
 *
 * Why the list exists: behind an nginx that is not on loopback, every request would otherwise come "from" nginx,
 * and one address's limits (sockets, logins, offers) would be shared by every viewer.
 */
import type { IncomingMessage } from 'node:http';
import net from 'node:net';

/** Whether a hop may name the client (express's `trust proxy` takes the same function). */
export type ProxyTrust = (address: string) => boolean;

/** An address or a CIDR subnet, IPv4 or IPv6: what ONAIR_TRUSTED_PROXIES lists. */
export function isAddressOrSubnet(entry: string): boolean {
  const [ip, prefix, ...rest] = entry.split('/');
  const family = net.isIP(ip ?? '');
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

/** Loopback, and each address or subnet of `trusted` (checked with isAddressOrSubnet by the configuration). */
export function proxyTrust(trusted: readonly string[] = []): ProxyTrust {
  const list = new net.BlockList();
  list.addSubnet('127.0.0.0', 8, 'ipv4');
  list.addAddress('::1', 'ipv6');
  for (const entry of trusted) {
    const [ip, prefix] = entry.split('/') as [string, string | undefined];
    const type = net.isIP(ip) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(ip, type);
    else list.addSubnet(ip, Number(prefix), type);
  }
  // BlockList matches IPv4-mapped IPv6 (::ffff:10.0.0.5) against IPv4 rules as well.
  return (address: string) => {
    const family = net.isIP(address);
    return family !== 0 && list.check(address, family === 6 ? 'ipv6' : 'ipv4');
  };
}

/** Loopback only: the default when ONAIR_TRUSTED_PROXIES is unset. */
export const trustLoopback: ProxyTrust = proxyTrust();

/**
 * What express's `req.ip` gives for this request: from the connection's peer, back through X-Forwarded-For
 * (rightmost first) while the hop is trusted.
 */
export function clientAddress(req: Pick<IncomingMessage, 'socket' | 'headers'>, trust: ProxyTrust): string {
  const forwarded = String(req.headers['x-forwarded-for'] ?? '')
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
  const hops = [req.socket.remoteAddress ?? 'unknown', ...forwarded.reverse()];
  let i = 0;
  while (i < hops.length - 1 && trust(hops[i]!)) i++;
  return hops[i]!;
}
