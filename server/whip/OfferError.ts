/**
 * An SDP offer OnAir cannot take, with the reason as the HTTP status it becomes: `malformed` (400: not an
 * SDP offer, or one that breaks the rules), `not_acceptable` (406: a valid offer with nothing OnAir can
 * send or receive, e.g. only unsupported codecs).
 */
export type OfferProblem = 'malformed' | 'not_acceptable';

export class OfferError extends Error {
  override name = 'OfferError';
  readonly problem: OfferProblem;
  constructor(problem: OfferProblem, message: string) {
    super(message);
    this.problem = problem;
  }
}

/** mediasoup refusing parameters built from an offer is the offer's problem (400), not the server's. */
export async function refusedAsOfferError<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const e = err as Error;
    if (e?.name === 'TypeError' || e?.name === 'UnsupportedError') throw new OfferError('malformed', `${what}: mediasoup refused the offer's parameters (${e.message})`);
    throw err;
  }
}
