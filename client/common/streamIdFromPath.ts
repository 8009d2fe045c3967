/** The stream id of /watch/:id and /embed/:id, when the path holds a valid one. */
import { ID_PATTERN } from '../../shared/api.js';

export function streamIdFromPath(path = location.pathname): string | undefined {
  const id = decodeURIComponent(path.split('/')[2] ?? '');
  return ID_PATTERN.test(id) ? id : undefined;
}
