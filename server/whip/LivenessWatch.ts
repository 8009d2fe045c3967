/**
 * Tells when the client of a WHIP or WHEP transport is gone. mediasoup 3.12's ICE-lite transport has no
 * consent checks, so a client that vanishes over UDP leaves no trace but silence: the transport's byte
 * counter stops. Also gone: DTLS failed or closed (a client that hangs up sends a DTLS close alert), ICE
 * "disconnected" (its TCP connection dropped) for a while, or no DTLS connection long after the offer.
 * `onGone` is called once; `stop()` (idempotent) ends the watch.
 */
import type { LivenessTimings } from './limits.js';

/** The part of a mediasoup WebRtcTransport watched (tests stand in for it). */
export interface WatchedTransport {
  readonly closed: boolean;
  getStats(): Promise<{ bytesReceived: number }[]>;
  on(event: 'icestatechange', listener: (state: string) => void): unknown;
  on(event: 'dtlsstatechange', listener: (state: string) => void): unknown;
  off(event: 'icestatechange', listener: (state: string) => void): unknown;
  off(event: 'dtlsstatechange', listener: (state: string) => void): unknown;
}

export class LivenessWatch {
  readonly #transport: WatchedTransport;
  readonly #timings: LivenessTimings;
  readonly #onGone: (reason: string) => void;
  readonly #onConnected: () => void;
  readonly #started = Date.now();
  #connected = false;
  #lastBytes = -1;
  #lastChange = Date.now();
  #poll: NodeJS.Timeout;
  #iceTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  #polling = false;

  constructor(transport: WatchedTransport, timings: LivenessTimings, handlers: { onGone: (reason: string) => void; onConnected?: () => void }) {
    this.#transport = transport;
    this.#timings = timings;
    this.#onGone = handlers.onGone;
    this.#onConnected = handlers.onConnected ?? (() => undefined);
    transport.on('dtlsstatechange', this.#onDtls);
    transport.on('icestatechange', this.#onIce);
    this.#poll = setInterval(() => void this.#check(), timings.pollMs);
    this.#poll.unref();
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#poll);
    clearTimeout(this.#iceTimer);
    this.#transport.off('dtlsstatechange', this.#onDtls);
    this.#transport.off('icestatechange', this.#onIce);
  }

  #gone(reason: string): void {
    if (this.#stopped) return;
    this.stop();
    this.#onGone(reason);
  }

  readonly #onDtls = (state: string): void => {
    if (state === 'connected') {
      this.#connected = true;
      this.#lastChange = Date.now();
      this.#onConnected();
    } else if (state === 'failed') this.#gone('the DTLS handshake failed');
    else if (state === 'closed') this.#gone('the client closed the connection');
  };

  readonly #onIce = (state: string): void => {
    if (state === 'disconnected') {
      clearTimeout(this.#iceTimer);
      this.#iceTimer = setTimeout(() => this.#gone('the ICE connection was lost'), this.#timings.iceDisconnectedMs);
      this.#iceTimer.unref();
    } else if (state === 'connected' || state === 'completed') {
      clearTimeout(this.#iceTimer);
      this.#iceTimer = undefined;
    } else if (state === 'closed') this.#gone('the ICE connection was closed');
  };

  async #check(): Promise<void> {
    if (this.#stopped || this.#polling) return;
    if (this.#transport.closed) return this.stop();
    const now = Date.now();
    if (!this.#connected) {
      if (now - this.#started > this.#timings.connectTimeoutMs) this.#gone(`the client did not connect within ${Math.round(this.#timings.connectTimeoutMs / 1000)} s`);
      return;
    }
    this.#polling = true;
    try {
      const bytes = (await this.#transport.getStats())[0]?.bytesReceived ?? 0;
      if (bytes !== this.#lastBytes) {
        this.#lastBytes = bytes;
        this.#lastChange = now;
      } else if (now - this.#lastChange > this.#timings.silenceMs) {
        this.#gone(`nothing received from the client for ${Math.round(this.#timings.silenceMs / 1000)} s`);
      }
    } catch {
      // The transport closed while asking: its owner hears of that through its own events.
    } finally {
      this.#polling = false;
    }
  }
}
