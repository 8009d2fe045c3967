/** A chat request refused, with the machine-readable code it is answered with (shared/errors.ts). */
import type { ErrorCode } from '../../shared/errors.js';

export class ChatError extends Error {
  override name = 'ChatError';
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}
