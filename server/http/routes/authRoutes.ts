/** POST /api/auth/login: username + password → access token. Failed attempts are slowed down. */
import { Router } from 'express';
import type { LoginResponse } from '../../../shared/api.js';
import { loginBodySchema } from '../../../shared/apiSchemas.js';
import { verifyPassword } from '../../auth/passwords.js';
import { ApiError } from '../ApiError.js';
import { publicUser } from '../presenters.js';
import type { Services } from '../Services.js';
import { parse } from '../validate.js';

// Compared against when the username is unknown, so both failures take the same time.
const DUMMY_HASH = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

export function authRoutes(s: Services): Router {
  const r = Router();
  r.post('/login', async (req, res) => {
    const body = parse(loginBodySchema, req.body, 'login body');
    const userKey = body.username.toLowerCase();
    const addressKey = req.ip ?? 'unknown';
    const { byUser, byAddress } = s.loginThrottle;
    // In cluster mode these are Redis calls (counted by every node): a Redis outage answers 503 cluster_unavailable.
    const wait = Math.max(...(await Promise.all([byUser.retryAfterMs(userKey), byAddress.retryAfterMs(addressKey)])));
    if (wait > 0) {
      const seconds = Math.ceil(wait / 1000);
      throw new ApiError('too_many_requests', `too many failed logins: try again in ${seconds} s`, { headers: { 'Retry-After': String(seconds) } });
    }
    // Counted as failed before the (slow) check: guesses sent in parallel see each other's count.
    await Promise.all([byUser.fail(userKey), byAddress.fail(addressKey)]);
    const user = await s.users.byUsername(body.username);
    const ok = await verifyPassword(body.password, user?.passwordHash ?? DUMMY_HASH);
    if (!user || !ok) {
      s.metrics.loginFailures.inc();
      throw new ApiError('unauthorized', 'wrong username or password');
    }
    await Promise.all([byUser.succeed(userKey), byAddress.forgive(addressKey)]);
    const { token, expiresAt } = s.tokens.signAccess({ sub: user.id, role: user.role, username: user.username });
    const response: LoginResponse = { token, expiresAt: expiresAt.toISOString(), user: publicUser(user) };
    res.json(response);
  });
  return r;
}
