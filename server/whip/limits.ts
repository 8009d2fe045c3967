/** WHIP and WHEP limits and timings, in one place. */
export const WHIP_LIMITS = {
  /** Largest SDP offer accepted (express body-parser syntax). Real offers are 2-8 kB. */
  maxOfferBytes: '64kb',
  /** More m-lines than this is not a broadcast (a real one has 2; simulcast does not add m-lines). */
  maxMediaSections: 8,
  /** Simulcast layers per video track. */
  maxSimulcastLayers: 4,
  /**
   * Offers per client address: `rate` per second on average, bursts of `burst`. WHEP's is larger: a
   * classroom behind one NAT may open the player at once.
   */
  whipOfferRate: { rate: 2, burst: 40 },
  whepOfferRate: { rate: 5, burst: 100 },
  /** Highest bitrate a WHIP publisher is asked to stay under (REMB), bits/s. */
  maxIncomingBitrate: 10_000_000,
  /** First guess at what a WHEP viewer can take, bits/s. */
  initialOutgoingBitrate: 1_000_000,
} as const;

/** When a session counts as gone (mediasoup 3.12's ICE-lite has no consent checks: silence is the signal). */
export interface LivenessTimings {
  /** From the POST to a connected DTLS session. */
  connectTimeoutMs: number;
  /** No packet at all from the client for this long, once connected. */
  silenceMs: number;
  /** ICE "disconnected" (a TCP connection dropped) for this long. */
  iceDisconnectedMs: number;
  /** How often the transport's byte counter is read. */
  pollMs: number;
}

export const WHIP_LIVENESS: LivenessTimings = {
  connectTimeoutMs: 20_000,
  // A publisher sends audio 50 times a second: a few seconds of silence means it is gone.
  silenceMs: 6_000,
  iceDisconnectedMs: 5_000,
  pollMs: 1_000,
};

export const WHEP_LIVENESS: LivenessTimings = {
  connectTimeoutMs: 20_000,
  // A viewer only sends RTCP reports and ICE consent checks (every 1-5 s).
  silenceMs: 20_000,
  iceDisconnectedMs: 10_000,
  pollMs: 2_000,
};
