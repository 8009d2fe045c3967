/**
 * Whether OnAir may push to a destination's host: a restream is a server-side request to a URL a user typed,
 * so without this check a broadcaster could make OnAir connect to the machine's own services or to the
 * private network behind it (SSRF), or to OnAir itself (a loop).
 *
 * - The host name is resolved (every address, IPv4 and IPv6) and each address is checked: loopback, private
 *   (RFC 1918, ULA), link-local, CGNAT, unspecified, multicast, documentation and IPv4-mapped forms of those
 *   are refused unless ONAIR_RESTREAM_ALLOW_PRIVATE=1. Every address, because a name may resolve to a public
 *   and a private one and ffmpeg might pick either.
 * - OnAir itself is refused: the host of ONAIR_PUBLIC_URL or of the request (with
 *   ONAIR_RESTREAM_ALLOW_PRIVATE=1 only on OnAir's own RTMP ingest port: another RTMP server on the same
 *   machine may then be a destination), and any of this machine's addresses on OnAir's RTMP ingest port.
 * - A name that does not resolve is refused (the owner sees why at once instead of a destination failing
 *   forever).
 * The check runs when a destination is added; ffmpeg resolves the name again when it connects (a DNS
 * rebinding between the two is not prevented; documented in docs/restream.md).
 */
import dns from 'node:dns/promises';
import net from 'node:net';
import os from 'node:os';

const blocked = new net.BlockList();
for (const [net4, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24],
  ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) blocked.addSubnet(net4, prefix, 'ipv4');
for (const [net6, prefix] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['2001:db8::', 32], ['64:ff9b::', 96]] as const) blocked.addSubnet(net6, prefix, 'ipv6');

/** Whether an address is loopback, private, link-local or otherwise not a public Internet host. */
export function isPrivateAddress(address: string): boolean {
  const family = net.isIP(address);
  if (family === 4) return blocked.check(address, 'ipv4');
  if (family !== 6) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return blocked.check(mapped[1]!, 'ipv4');
  return blocked.check(address, 'ipv6');
}

export interface AddressPolicy {
  allowPrivate: boolean;
  /** Host names that are OnAir itself (public URL host, the request's Host). */
  selfHosts: string[];
  /** OnAir's own RTMP ingest port on this machine (a destination there is a loop), if it listens. */
  ownRtmpPort: number | null;
  /** Resolver (tests may pass one). */
  lookup?: (host: string) => Promise<string[]>;
}

export class DestinationRefused extends Error {
  override name = 'DestinationRefused';
}

const defaultLookup = async (host: string): Promise<string[]> => (await dns.lookup(host, { all: true, verbatim: true })).map((a) => a.address);

const localAddresses = (): Set<string> =>
  new Set(Object.values(os.networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address.toLowerCase())));

/** Resolves the URL's host and throws DestinationRefused when the policy forbids it. */
export async function checkDestination(rawUrl: string, policy: AddressPolicy): Promise<void> {
  const url = new URL(rawUrl);
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = Number(url.port || (url.protocol === 'rtmps:' ? 443 : 1935));
  const isOwnIngest = policy.ownRtmpPort !== null && port === policy.ownRtmpPort;
  if (policy.selfHosts.some((h) => h.toLowerCase() === host) && (isOwnIngest || !policy.allowPrivate)) throw new DestinationRefused('this destination is OnAir itself');
  let addresses: string[];
  try {
    addresses = net.isIP(host) ? [host] : await (policy.lookup ?? defaultLookup)(host);
  } catch {
    throw new DestinationRefused(`the host ${host} does not resolve`);
  }
  if (addresses.length === 0) throw new DestinationRefused(`the host ${host} does not resolve`);
  const local = localAddresses();
  for (const a of addresses) {
    const addr = a.toLowerCase();
    const onThisMachine = local.has(addr) || addr.startsWith('127.') || addr === '::1' || addr === '0.0.0.0' || addr === '::';
    if (onThisMachine && isOwnIngest) throw new DestinationRefused('this destination is OnAir\'s own RTMP ingest');
    if (!policy.allowPrivate && (isPrivateAddress(addr) || local.has(addr))) {
      throw new DestinationRefused(`${host} resolves to ${a}, a loopback, private or local address (allowed only with ONAIR_RESTREAM_ALLOW_PRIVATE=1)`);
    }
  }
}
