/**
 * Carries an ingest's media from Node into its ffmpeg: a Unix socket in a private temporary folder (mode 0700)
 * that ffmpeg connects to as `unix:<path>`. Only this ffmpeg can reach it (no TCP port another local process
 * could take first), and the bytes go through the kernel once.
 *
 * Lifetimes: made by its session, closed by it on every path (`close()` is idempotent: the connection, the
 * listener and the folder go). Writes before ffmpeg connected are held, up to the same bound as unread data
 * after: an ffmpeg that falls behind by `maxBufferedBytes` (a publisher sending faster than it can transcode,
 * for long) makes `write` return false, and the session drops the publisher rather than grow without end.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export class InputPipe {
  readonly path: string;
  readonly #dir: string;
  readonly #server: net.Server;
  readonly #maxBuffered: number;
  #conn: net.Socket | undefined;
  readonly #held: Buffer[] = [];
  #heldBytes = 0;
  #closed = false;
  /** Settles when ffmpeg's end of the pipe closed (it exited or stopped reading). */
  readonly disconnected: Promise<void>;
  #onDisconnect!: () => void;

  private constructor(dir: string, server: net.Server, maxBufferedBytes: number) {
    this.#dir = dir;
    this.path = path.join(dir, 'in.sock');
    this.#server = server;
    this.#maxBuffered = maxBufferedBytes;
    this.disconnected = new Promise((resolve) => (this.#onDisconnect = resolve));
    server.on('connection', (conn) => {
      if (this.#conn || this.#closed) {
        conn.destroy();
        return;
      }
      this.#conn = conn;
      // ffmpeg never writes back; an error is its end closing, seen as 'close' too.
      conn.on('error', () => undefined);
      conn.once('close', () => this.#onDisconnect());
      for (const b of this.#held) conn.write(b);
      this.#held.length = 0;
      this.#heldBytes = 0;
      // One reader: nobody else may connect.
      server.close();
    });
  }

  static async open(maxBufferedBytes = 16 * 1024 * 1024): Promise<InputPipe> {
    const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'onair-ingest-'));
    const server = net.createServer();
    const pipe = new InputPipe(dir, server, maxBufferedBytes);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(pipe.path, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      await fs.promises.rm(dir, { recursive: true, force: true });
      throw err;
    }
    return pipe;
  }

  /** ffmpeg's input URL. */
  get url(): string {
    return `unix:${this.path}`;
  }

  /** Queues bytes for ffmpeg; false when it is `maxBufferedBytes` behind (or the pipe closed). */
  write(data: Buffer): boolean {
    if (this.#closed) return false;
    if (!this.#conn) {
      this.#held.push(data);
      this.#heldBytes += data.length;
      return this.#heldBytes <= this.#maxBuffered;
    }
    if (this.#conn.destroyed) return false;
    this.#conn.write(data);
    return this.#conn.writableLength <= this.#maxBuffered;
  }

  /** Ends the input (ffmpeg reads EOF), then removes everything. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#held.length = 0;
    this.#conn?.end();
    this.#conn?.destroySoon();
    this.#server.close();
    this.#onDisconnect();
    await fs.promises.rm(this.#dir, { recursive: true, force: true });
  }
}
