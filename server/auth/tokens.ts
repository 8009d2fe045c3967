/**
 * JSON Web Tokens: HS256 only (pinned on verify), `exp` required, one audience per use so a token made
 * for one purpose is refused for another.
 *   access  – the API and the broadcaster's socket, subject = user id
 *   viewer  – watching one private stream, subject = stream id
 */
import jwt from 'jsonwebtoken';
import type { Role } from '../../shared/api.js';

export const ISSUER = 'onair';
export const AUDIENCE = { access: 'onair:access', viewer: 'onair:viewer' } as const;

export interface AccessClaims {
  sub: string;
  role: Role;
  username: string;
}

export interface ViewerClaims {
  sub: string;
}

export class TokenError extends Error {
  override name = 'TokenError';
}

export class Tokens {
  readonly #secret: string;
  readonly #accessTtl: number;
  readonly #viewerTtl: number;

  constructor(secret: string, ttl: { accessSeconds: number; viewerSeconds: number }) {
    this.#secret = secret;
    this.#accessTtl = ttl.accessSeconds;
    this.#viewerTtl = ttl.viewerSeconds;
  }

  signAccess(claims: AccessClaims): { token: string; expiresAt: Date } {
    return this.#sign({ role: claims.role, username: claims.username }, claims.sub, AUDIENCE.access, this.#accessTtl);
  }

  signViewer(streamId: string): { token: string; expiresAt: Date } {
    return this.#sign({}, streamId, AUDIENCE.viewer, this.#viewerTtl);
  }

  verifyAccess(token: string): AccessClaims {
    const p = this.#verify(token, AUDIENCE.access);
    if (typeof p.sub !== 'string' || (p.role !== 'admin' && p.role !== 'broadcaster') || typeof p.username !== 'string') {
      throw new TokenError('token claims are malformed');
    }
    return { sub: p.sub, role: p.role, username: p.username };
  }

  /** Verifies a viewer token and that it was made for this stream. */
  verifyViewer(token: string, streamId: string): ViewerClaims {
    const p = this.#verify(token, AUDIENCE.viewer);
    if (p.sub !== streamId) throw new TokenError('token is for another stream');
    return { sub: p.sub };
  }

  #sign(payload: object, subject: string, audience: string, ttlSeconds: number) {
    const token = jwt.sign(payload, this.#secret, { algorithm: 'HS256', subject, audience, issuer: ISSUER, expiresIn: ttlSeconds });
    return { token, expiresAt: new Date(Date.now() + ttlSeconds * 1000) };
  }

  #verify(token: string, audience: string): jwt.JwtPayload {
    if (token.length > 4096) throw new TokenError('token is too long');
    try {
      const p = jwt.verify(token, this.#secret, { algorithms: ['HS256'], audience, issuer: ISSUER, complete: false });
      if (typeof p === 'string' || typeof p.exp !== 'number') throw new TokenError('token has no expiry');
      return p;
    } catch (err) {
      if (err instanceof TokenError) throw err;
      if (err instanceof jwt.TokenExpiredError) throw new TokenError('token has expired');
      throw new TokenError(`token is invalid (${(err as Error).message})`);
    }
  }
}
