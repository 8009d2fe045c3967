/**
 * The few calls of libsrt (Haivision's SRT library, Debian's libsrt1.5 — the one ffmpeg already links) that
 * the SRT listener needs, through koffi (FFI). libsrt does the whole protocol (handshake, ARQ, TSBPD,
 * encryption); OnAir only accepts, reads each caller's stream id, and reads its payload.
 *
 * Why not an ffmpeg `srt://…?mode=listener`: ffmpeg 5.1's listener accepts one caller per process and never
 * exposes the caller's stream id, so it can neither serve several streams on one port nor check a key.
 *
 * Every socket is non-blocking (SRTO_RCVSYN off on the listener, inherited by accepted sockets) and watched by
 * one SRT epoll per listener, polled from the event loop with a zero timeout: no call here ever blocks Node.
 * Pointers are passed as Buffers (koffi takes a Buffer for `void *`).
 */
import koffi, { type LibraryHandle } from 'koffi';

/** Socket options (srt.h, SRT 1.5). */
export const SRTO = { RCVSYN: 2, RCVLATENCY: 43, STREAMID: 46 } as const;
export const SRT_EPOLL = { IN: 0x1, ERR: 0x8 } as const;
/** srt_getlasterror(): nothing to read now (non-blocking). */
export const SRT_EASYNCRCV = 6002;
export const SRT_INVALID_SOCK = -1;

const LIBRARIES = ['libsrt-gnutls.so.1.5', 'libsrt-openssl.so.1.5', 'libsrt.so.1.5', 'libsrt.so'];

export interface LibSrt {
  createSocket(): number;
  setIntFlag(sock: number, opt: number, value: number): number;
  getIntFlag(sock: number, opt: number): number;
  /** The stream id a caller sent (accepted socket). */
  streamId(sock: number): string;
  bind(sock: number, addr: Buffer): number;
  listen(sock: number, backlog: number): number;
  /** An accepted socket and its peer address, or SRT_INVALID_SOCK when none is pending. */
  accept(sock: number): { sock: number; peer: string };
  localPort(sock: number): number;
  /** Bytes read into `buf`; -1 on error (see lastError). */
  recvmsg(sock: number, buf: Buffer): number;
  close(sock: number): number;
  lastError(): number;
  lastErrorText(): string;
  epollCreate(): number;
  epollAdd(eid: number, sock: number, events: number): number;
  epollRemove(eid: number, sock: number): number;
  /** Ready sockets and their events (zero timeout). */
  epollPoll(eid: number, max: number): { sock: number; events: number }[];
  epollRelease(eid: number): number;
}

let loaded: LibSrt | undefined;

/** Loads libsrt once (throws with the names it tried when it is not installed). */
export function libsrt(): LibSrt {
  if (loaded) return loaded;
  let lib: LibraryHandle | undefined;
  const errors: string[] = [];
  for (const name of LIBRARIES) {
    try {
      lib = koffi.load(name);
      break;
    } catch (err) {
      errors.push(`${name}: ${(err as Error).message}`);
    }
  }
  if (!lib) throw new Error(`libsrt is not installed (Debian: libsrt1.5-gnutls, an ffmpeg dependency): ${errors.join('; ')}`);
  const f = {
    startup: lib.func('int srt_startup()'),
    createSocket: lib.func('int srt_create_socket()'),
    setsockflag: lib.func('int srt_setsockflag(int u, int opt, const void *optval, int optlen)'),
    getsockflag: lib.func('int srt_getsockflag(int u, int opt, void *optval, void *optlen)'),
    bind: lib.func('int srt_bind(int u, const void *name, int namelen)'),
    listen: lib.func('int srt_listen(int u, int backlog)'),
    accept: lib.func('int srt_accept(int u, void *addr, void *addrlen)'),
    getsockname: lib.func('int srt_getsockname(int u, void *name, void *namelen)'),
    recvmsg: lib.func('int srt_recvmsg(int u, void *buf, int len)'),
    close: lib.func('int srt_close(int u)'),
    getlasterror: lib.func('int srt_getlasterror(void *errno_loc)'),
    getlasterrorStr: lib.func('const char *srt_getlasterror_str()'),
    epollCreate: lib.func('int srt_epoll_create()'),
    epollAdd: lib.func('int srt_epoll_add_usock(int eid, int u, const void *events)'),
    epollRemove: lib.func('int srt_epoll_remove_usock(int eid, int u)'),
    epollUwait: lib.func('int srt_epoll_uwait(int eid, void *fdsSet, int fdsSize, int64_t msTimeOut)'),
    epollRelease: lib.func('int srt_epoll_release(int eid)'),
  };
  if (f.startup() < 0) throw new Error('srt_startup failed');
  // libsrt logs to stderr, e.g. every srt_accept that finds nothing pending: critical errors only.
  lib.func('void srt_setloglevel(int ll)')(2);
  const int32 = (v: number) => {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    return b;
  };
  loaded = {
    createSocket: () => f.createSocket() as number,
    setIntFlag: (sock, opt, value) => f.setsockflag(sock, opt, int32(value), 4) as number,
    getIntFlag: (sock, opt) => {
      const buf = int32(0);
      return (f.getsockflag(sock, opt, buf, int32(4)) as number) < 0 ? -1 : buf.readInt32LE();
    },
    streamId: (sock) => {
      const buf = Buffer.alloc(768);
      const len = int32(buf.length);
      if ((f.getsockflag(sock, SRTO.STREAMID, buf, len) as number) < 0) return '';
      return buf.subarray(0, Math.max(0, Math.min(buf.length, len.readInt32LE()))).toString('utf8').replace(/\0.*$/s, '');
    },
    bind: (sock, addr) => f.bind(sock, addr, addr.length) as number,
    listen: (sock, backlog) => f.listen(sock, backlog) as number,
    accept: (sock) => {
      const addr = Buffer.alloc(128);
      const len = int32(addr.length);
      const s = f.accept(sock, addr, len) as number;
      return { sock: s, peer: s === SRT_INVALID_SOCK ? '' : describeAddress(addr) };
    },
    localPort: (sock) => {
      const addr = Buffer.alloc(128);
      const len = int32(addr.length);
      if ((f.getsockname(sock, addr, len) as number) < 0) return -1;
      return addr.readUInt16BE(2);
    },
    recvmsg: (sock, buf) => f.recvmsg(sock, buf, buf.length) as number,
    close: (sock) => f.close(sock) as number,
    lastError: () => f.getlasterror(null) as number,
    lastErrorText: () => String(f.getlasterrorStr()),
    epollCreate: () => f.epollCreate() as number,
    epollAdd: (eid, sock, events) => f.epollAdd(eid, sock, int32(events)) as number,
    epollRemove: (eid, sock) => f.epollRemove(eid, sock) as number,
    epollPoll: (eid, max) => {
      // SRT_EPOLL_EVENT: { SRTSOCKET fd; int events; }
      const set = Buffer.alloc(8 * max);
      const n = f.epollUwait(eid, set, max, 0) as number;
      const out: { sock: number; events: number }[] = [];
      for (let i = 0; i < n; i++) out.push({ sock: set.readInt32LE(i * 8), events: set.readInt32LE(i * 8 + 4) });
      return out;
    },
    epollRelease: (eid) => f.epollRelease(eid) as number,
  };
  return loaded;
}

/** A sockaddr_in / sockaddr_in6 for `host:port`. */
export function socketAddress(host: string, port: number): Buffer {
  if (host.includes(':')) {
    const b = Buffer.alloc(28);
    b.writeUInt16LE(10, 0); // AF_INET6
    b.writeUInt16BE(port, 2);
    const full = expandIpv6(host);
    for (let i = 0; i < 8; i++) b.writeUInt16BE(full[i]!, 8 + i * 2);
    return b;
  }
  const b = Buffer.alloc(16);
  b.writeUInt16LE(2, 0); // AF_INET
  b.writeUInt16BE(port, 2);
  host.split('.').forEach((octet, i) => (b[4 + i] = Number(octet)));
  return b;
}

function expandIpv6(host: string): number[] {
  const [head, tail] = host.split('::') as [string, string | undefined];
  const parts = (s: string | undefined) => (s ? s.split(':').map((h) => parseInt(h, 16)) : []);
  const h = parts(head);
  const t = parts(tail);
  return tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
}

function describeAddress(addr: Buffer): string {
  const family = addr.readUInt16LE(0);
  const port = addr.readUInt16BE(2);
  if (family === 2) return `${addr[4]}.${addr[5]}.${addr[6]}.${addr[7]}:${port}`;
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push(addr.readUInt16BE(8 + i * 2).toString(16));
  return `[${groups.join(':')}]:${port}`;
}
