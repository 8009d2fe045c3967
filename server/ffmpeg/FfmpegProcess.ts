/**
 * One ffmpeg child process, owned from its spawn to its exit. Whoever creates one stops it: every exit path
 * of its owner (a normal end, a failed start, a replaced run, shutdown) goes through `stop()` or `kill()`,
 * and awaits `exited`. Used by the HLS bridge; generic (any input, any output), so restreams can use it too.
 *
 * - Spawned through fluent-ffmpeg with an argument array (never a shell). The ChildProcess is read here and
 *   nowhere else: fluent-ffmpeg hands it over only as its undocumented `ffmpegProc`, on its 'start' event.
 * - fluent-ffmpeg spawns asynchronously (it looks ffmpeg up first): a signal asked for before the child
 *   exists is kept and sent as soon as it does, so a stop right after the spawn still stops it.
 * - `stop()` is SIGINT (ffmpeg then finishes its outputs: the last HLS segment and #EXT-X-ENDLIST), then
 *   SIGKILL after `stopTimeoutMs`, with a warning: a SIGKILL means an output was cut. Idempotent.
 *   ffmpeg honours SIGINT between packets once it is transcoding, so stop it while its input still flows,
 *   or give it an input timeout (the HLS bridge's RTP input has one) so that a silent input ends it anyway.
 *   Never a second SIGINT: ffmpeg takes it as "exit now" and leaves its outputs unfinished.
 * - `kill()` is SIGKILL at once, for a run whose output no longer matters.
 * - `exited` resolves exactly once, when the process is gone and its output pipes are closed (or when it
 *   could not be spawned at all).
 * - `spawnPiped()` is for outputs that go to extra pipes (fd 3, 4, …: the LL-HLS ladder's fMP4), which
 *   fluent-ffmpeg cannot open: it spawns Debian's ffmpeg directly (argument array, no shell), hands the
 *   pipes to the owner as `outputs` (read them from the start: ffmpeg blocks on a full pipe), and resolves
 *   `exited` on the child's 'close', i.e. only once every pipe has been read to its end, so the owner has
 *   seen the last bytes (the last fragment a SIGINT flushes) before it learns of the exit. Same signals,
 *   same single owner.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import ffmpeg from 'fluent-ffmpeg';
import type { Logger } from '../log/logger.js';

/** What to run: one input, one output, each with its options (as argument arrays). */
export interface FfmpegCommandSpec {
  input: string;
  inputOptions: readonly string[];
  outputOptions: readonly string[];
  output: string;
}

/** A direct spawn with extra output pipes (see spawnPiped). */
export interface PipedSpec {
  args: readonly string[];
  /** Output pipes after stderr: fd 3, 4, … */
  pipes: number;
  /** The program; 'ffmpeg' (from PATH) unless a test says otherwise. */
  command?: string;
}

export interface FfmpegExit {
  /** The exit code, or null when a signal ended it (or it never started). */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Why it failed (with the end of ffmpeg's stderr), when it did not exit with code 0. */
  error?: string;
  /** It ended because `stop()` or `kill()` asked. */
  requested: boolean;
}

export interface FfmpegProcessOptions {
  /** For logs: "hls e0", "restream …". */
  name: string;
  /** How long `stop()` waits after SIGINT before SIGKILL. */
  stopTimeoutMs: number;
  logger: Logger;
  /** 'debug' for frequent short runs (thumbnails); 'info' by default. */
  startLogLevel?: 'info' | 'debug';
}

export class FfmpegProcess {
  readonly name: string;
  /** Resolves once, when ffmpeg is gone. */
  readonly exited: Promise<FfmpegExit>;
  /** `spawnPiped` only: the readable end of each extra output pipe (fd 3, 4, …), in order. */
  readonly outputs: Readable[] = [];
  readonly #stopTimeoutMs: number;
  readonly #log: Logger;
  #child: ChildProcess | undefined;
  /** A signal asked for before the child existed. */
  #pending: NodeJS.Signals | undefined;
  #exit: FfmpegExit | undefined;
  #requested = false;
  #stopping: Promise<FfmpegExit> | undefined;

  private constructor(spec: FfmpegCommandSpec | PipedSpec, opts: FfmpegProcessOptions) {
    this.name = opts.name;
    this.#stopTimeoutMs = opts.stopTimeoutMs;
    this.#log = opts.logger;
    if ('args' in spec) {
      this.exited = this.#spawnDirect(spec, opts);
      return;
    }
    const command = ffmpeg()
      .input(spec.input)
      .inputOptions(...spec.inputOptions)
      .outputOptions(...spec.outputOptions)
      .output(spec.output);
    this.exited = new Promise<FfmpegExit>((resolve) => {
      const finish = (error?: string) => {
        if (this.#exit) return;
        // Node sets exitCode/signalCode before it emits 'exit', which comes before fluent-ffmpeg's end.
        const exit: FfmpegExit = { code: this.#child?.exitCode ?? null, signal: this.#child?.signalCode ?? null, requested: this.#requested };
        if (error !== undefined) exit.error = error;
        this.#exit = exit;
        this.#log.debug({ ffmpeg: this.name, pid: this.#child?.pid, ...exit }, 'ffmpeg exited');
        resolve(exit);
      };
      command.on('error', (err: Error, _stdout: string | null, stderr: string | null) =>
        finish(`${err.message}${stderr ? `: ${stderr.trim().split('\n').slice(-4).join(' | ')}` : ''}`),
      );
      command.on('end', () => finish());
    });
    command.on('start', (line: string) => {
      // The one place that reads fluent-ffmpeg's child process.
      this.#child = (command as unknown as { ffmpegProc?: ChildProcess }).ffmpegProc;
      this.#log[opts.startLogLevel ?? 'info']({ ffmpeg: this.name, pid: this.#child?.pid, command: line }, 'ffmpeg started');
      if (this.#pending) this.#send(this.#pending);
    });
    command.run();
  }

  /**
   * The direct spawn (spawnPiped): stdin ignored, stdout ignored, stderr kept (its last lines explain a
   * failure), then `pipes` output pipes.
   */
  #spawnDirect(spec: PipedSpec, opts: FfmpegProcessOptions): Promise<FfmpegExit> {
    const child = spawn(spec.command ?? 'ffmpeg', spec.args, { stdio: ['ignore', 'ignore', 'pipe', ...Array.from({ length: spec.pipes }, () => 'pipe' as const)] });
    this.#child = child;
    for (let i = 0; i < spec.pipes; i++) this.outputs.push(child.stdio[3 + i] as Readable);
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    return new Promise<FfmpegExit>((resolve) => {
      const finish = (error?: string) => {
        if (this.#exit) return;
        const exit: FfmpegExit = { code: child.exitCode, signal: child.signalCode, requested: this.#requested };
        if (error !== undefined) exit.error = error;
        else if (child.exitCode !== 0) {
          const tail = stderr.trim().split('\n').slice(-4).join(' | ');
          exit.error = `ffmpeg ${child.signalCode ? `was killed with signal ${child.signalCode}` : `exited with code ${child.exitCode}`}${tail ? `: ${tail}` : ''}`;
        }
        this.#exit = exit;
        this.#log.debug({ ffmpeg: this.name, pid: child.pid, ...exit }, 'ffmpeg exited');
        resolve(exit);
      };
      child.on('error', (err) => finish(err.message));
      child.on('close', () => finish());
      if (child.pid !== undefined) this.#log[opts.startLogLevel ?? 'info']({ ffmpeg: this.name, pid: child.pid, command: spec.args.join(' ') }, 'ffmpeg started');
    });
  }

  /**
   * Spawns ffmpeg with `pipes` extra output pipes (fd 3 …; see `outputs`); `args` is the whole command line
   * after the program name. The child exists at once.
   */
  static spawnPiped(spec: PipedSpec, opts: FfmpegProcessOptions): FfmpegProcess {
    return new FfmpegProcess(spec, opts);
  }

  /** Spawns ffmpeg (the child exists a moment later; signals sent before then are kept). */
  static spawn(spec: FfmpegCommandSpec, opts: FfmpegProcessOptions): FfmpegProcess {
    return new FfmpegProcess(spec, opts);
  }

  /** The child's pid, once spawned and until it exited. */
  get pid(): number | undefined {
    return this.#exit ? undefined : this.#child?.pid;
  }

  get running(): boolean {
    return !this.#exit;
  }

  /** `stop()` or `kill()` was called. */
  get stopRequested(): boolean {
    return this.#requested;
  }

  /** SIGINT, then SIGKILL after the bound (logged: an output was cut). Idempotent; resolves with the exit. */
  stop(): Promise<FfmpegExit> {
    if (this.#stopping) return this.#stopping;
    this.#requested = true;
    if (this.#exit) return (this.#stopping = this.exited);
    this.#send('SIGINT');
    const timer = setTimeout(() => {
      if (this.#exit) return;
      this.#log.warn({ ffmpeg: this.name, pid: this.#child?.pid }, `ffmpeg did not stop within ${this.#stopTimeoutMs} ms: SIGKILL`);
      this.#send('SIGKILL');
    }, this.#stopTimeoutMs);
    this.#stopping = this.exited.finally(() => clearTimeout(timer));
    return this.#stopping;
  }

  /** SIGKILL now. Resolves with the exit. */
  kill(): Promise<FfmpegExit> {
    this.#requested = true;
    this.#send('SIGKILL');
    return this.exited;
  }

  #send(signal: NodeJS.Signals): void {
    if (this.#exit) return;
    const child = this.#child;
    if (!child) {
      // Not spawned yet: the strongest signal asked for is sent on 'start'.
      if (this.#pending !== 'SIGKILL') this.#pending = signal;
      return;
    }
    try {
      child.kill(signal);
    } catch {
      /* already gone: 'exit' follows */
    }
  }
}
