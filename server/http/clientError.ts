/**
 * Requests Node's HTTP parser refuses (a garbled request line, a NUL in a header, headers too large) never
 * reach express: Node answers them itself, with an empty body. This answers them like every other error,
 * JSON `{ error, message }`, and closes the connection.
 */
import type stream from 'node:stream';
import type { ErrorBody } from '../../shared/errors.js';

const STATUS_BY_CODE: Record<string, [number, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout'],
};

export function answerClientError(err: NodeJS.ErrnoException, socket: stream.Duplex): void {
  // Nothing to answer on a connection that is gone, or in the middle of a response (as Node's own handler).
  const inResponse = (socket as stream.Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
  if (err.code === 'ECONNRESET' || !socket.writable || inResponse) {
    socket.destroy();
    return;
  }
  const [status, reason] = STATUS_BY_CODE[err.code ?? ''] ?? [400, 'Bad Request'];
  const body: ErrorBody = {
    error: 'bad_request',
    message: status === 431 ? 'the request headers are too large' : status === 408 ? 'the request took too long' : 'malformed HTTP request',
  };
  const json = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`,
  );
}
