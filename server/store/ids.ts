import crypto from 'node:crypto';

/** A random stream id: 12 base64url characters (72 bits). */
export const newStreamId = (): string => crypto.randomBytes(9).toString('base64url');
/** A random user id. */
export const newUserId = (): string => crypto.randomUUID();
/** A stream key: a 32-byte secret, prefixed so it is recognisable in a leaked config. */
export const newStreamKey = (): string => `sk_${crypto.randomBytes(24).toString('base64url')}`;
