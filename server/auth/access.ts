/**
 * Who may do what with a stream. One place, used by the API, the signaling socket and media endpoints.
 *   manage – owner or admin: edit, delete, publish, rotate the key, make viewer tokens
 *   watch  – anyone for public and unlisted streams; for private ones, a viewer token made for this
 *            stream, or the access token of someone who may manage it
 */
import type { StreamRecord } from '../store/sql/StreamStore.js';
import { TokenError, type AccessClaims, type Tokens } from './tokens.js';

export function canManage(user: AccessClaims | undefined, stream: Pick<StreamRecord, 'ownerId'>): boolean {
  return !!user && (user.role === 'admin' || user.sub === stream.ownerId);
}

export function canWatch(tokens: Tokens, stream: Pick<StreamRecord, 'id' | 'ownerId' | 'visibility'>, token: string | undefined): boolean {
  if (stream.visibility !== 'private') return true;
  if (!token) return false;
  try {
    tokens.verifyViewer(token, stream.id);
    return true;
  } catch (err) {
    if (!(err instanceof TokenError)) throw err;
  }
  try {
    return canManage(tokens.verifyAccess(token), stream);
  } catch (err) {
    if (!(err instanceof TokenError)) throw err;
    return false;
  }
}
