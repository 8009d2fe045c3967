/**
 * The signature of a delivery: `OnAir-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
 * The timestamp is signed with the body, so a receiver that refuses old timestamps (docs/webhooks.md: 5
 * minutes) cannot be fed a captured request later; within that window, `OnAir-Event-Id` lets it drop
 * duplicates. Each attempt is signed anew at its own time (a retry a day later still verifies).
 */
import crypto from 'node:crypto';

export const SIGNATURE_HEADER = 'OnAir-Signature';
export const EVENT_ID_HEADER = 'OnAir-Event-Id';
export const EVENT_TYPE_HEADER = 'OnAir-Event-Type';
export const DELIVERY_ID_HEADER = 'OnAir-Delivery-Id';

/** The header value for `body` signed with `secret` at `t` (unix seconds). */
export function signatureHeader(secret: string, body: string, t: number): string {
  const mac = crypto.createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
  return `t=${t},v1=${mac}`;
}

/** A new hook's secret: 32 random bytes, prefixed so it is recognisable in a leaked config. */
export const newWebhookSecret = (): string => `whsec_${crypto.randomBytes(32).toString('base64url')}`;
