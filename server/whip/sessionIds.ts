/** Session ids of WHIP and WHEP resources: 144 random bits, so a session URL is a capability. */
import crypto from 'node:crypto';

export const newSessionId = (): string => crypto.randomBytes(18).toString('base64url');

export const SESSION_ID = /^[A-Za-z0-9_-]{24}$/;
