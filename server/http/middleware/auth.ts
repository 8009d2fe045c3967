/** Bearer-token authentication for the API: `req.user` is set from a valid access token. */
import type { NextFunction, Request, Response } from 'express';
import type { Role } from '../../../shared/api.js';
import { TokenError, type AccessClaims, type Tokens } from '../../auth/tokens.js';
import type { UserStore } from '../../store/sql/UserStore.js';
import { ApiError } from '../ApiError.js';
import { isLocked } from '../../admin/AdminUserStore.js';

declare module 'express-serve-static-core' {
  interface Request {
    user?: AccessClaims;
  }
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(req: Request): string | undefined {
  const h = req.get('authorization');
  if (!h) return undefined;
  const m = /^Bearer +([^\s]+)\s*$/i.exec(h);
  if (!m) throw new ApiError('unauthorized', 'Authorization header must be "Bearer <token>"');
  return m[1];
}

/** The token a request carries to watch: `Authorization: Bearer`, else the `?token=` query parameter. */
export function requestToken(req: Request): string | undefined {
  return bearerToken(req) ?? (typeof req.query.token === 'string' ? req.query.token : undefined);
}

export function authenticate(tokens: Tokens, users: UserStore) {
  // Async (the account is read from the catalogue): express 5 passes a rejection on to the error handler.
  return async (req: Request, _res: Response, next: NextFunction): Promise<void> => {
    const token = bearerToken(req);
    if (!token) throw new ApiError('unauthorized', 'sign in first: this route needs an access token', { headers: { 'WWW-Authenticate': 'Bearer' } });
    let claims: AccessClaims;
    try {
      claims = tokens.verifyAccess(token);
    } catch (err) {
      if (err instanceof TokenError) throw new ApiError('unauthorized', err.message, { headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' } });
      throw err;
    }
    // The account may have been removed since the token was made.
    const user = await users.byId(claims.sub);
    if (!user) throw new ApiError('unauthorized', 'the account of this token no longer exists');
    // Disabled by an admin (server/admin): its tokens stop working at once, not when they expire.
    if (isLocked(user.passwordHash)) throw new ApiError('unauthorized', 'this account is disabled');
    req.user = { sub: user.id, role: user.role, username: user.username };
    next();
  };
}

export function requireRole(...roles: Role[]) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    if (!req.user || !roles.includes(req.user.role)) throw new ApiError('forbidden', `this route needs the role ${roles.join(' or ')}`);
    next();
  };
}
