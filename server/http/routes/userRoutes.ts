/** Accounts: admins create users; anyone signed in reads their own account. */
import { Router } from 'express';
import { createUserBodySchema } from '../../../shared/apiSchemas.js';
import { hashPassword } from '../../auth/passwords.js';
import { ApiError } from '../ApiError.js';
import { authenticate, requireRole } from '../middleware/auth.js';
import { publicUser } from '../presenters.js';
import type { Services } from '../Services.js';
import { parse } from '../validate.js';

export function userRoutes(s: Services): Router {
  const r = Router();
  const auth = authenticate(s.tokens, s.users);

  r.post('/users', auth, requireRole('admin'), async (req, res) => {
    const body = parse(createUserBodySchema, req.body, 'user');
    if (await s.users.byUsername(body.username)) throw new ApiError('conflict', `the username "${body.username}" is taken`);
    const user = await s.users.create({ username: body.username, passwordHash: await hashPassword(body.password), role: body.role });
    req.log.info({ userId: user.id, username: user.username, role: user.role }, 'user created');
    res.status(201).json(publicUser(user));
  });

  r.get('/me', auth, async (req, res) => {
    const user = await s.users.byId(req.user!.sub);
    if (!user) throw new ApiError('unauthorized', 'the account of this token no longer exists');
    res.json(publicUser(user));
  });
  return r;
}
