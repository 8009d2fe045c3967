/**
 * What a viewer in 'hls' mode receives: the stream's live HLS in the <video>, through attachHls. The master
 * playlist 404s until the server's first part exists (under a second after the broadcast's video reaches
 * ffmpeg), and hls.js does not retry a 404: so this asks for it every 250 ms (a HEAD, answered from memory)
 * until it exists, then attaches. A playback that fails
 * for good is dropped and started over. `close()` is idempotent and frees everything.
 */
import { attachHls, type HlsPlayback } from '../hls/attachHls.js';
import { playOrMute } from './autoplay.js';
import { markOnce } from './timeline.js';

const POLL_MS = 250;
const RESTART_MS = 2000;

export class HlsReception {
  readonly url: string;
  readonly #video: HTMLVideoElement;
  readonly #onChange: () => void;
  #playback: HlsPlayback | undefined;
  #started = false;
  #level: number | null = null;
  #closed = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #abort: AbortController | undefined;
  readonly #onPlaying = () => {
    if (!this.#playback || this.#started) return;
    markOnce('hls-playing');
    this.#started = true;
    this.#onChange();
  };

  /** `onChange`: playback started, stopped, or its renditions changed. */
  constructor(video: HTMLVideoElement, url: string, onChange: () => void) {
    this.#video = video;
    this.url = url;
    this.#onChange = onChange;
    video.addEventListener('playing', this.#onPlaying);
    void this.#waitAndAttach();
  }

  /** Frames are being shown (since the last (re)start). */
  get started(): boolean {
    return this.#started;
  }
  get closed(): boolean {
    return this.#closed;
  }

  /** Rendition heights, in the order setLevel() takes (lowest first); empty until known. */
  heights(): number[] {
    return this.#playback?.heights() ?? [];
  }
  currentLevel(): number | null {
    return this.#playback?.currentLevel() ?? null;
  }
  /** hls.js's distance to the live edge and its target (seconds); null before it knows them, or natively. */
  latency(): { seconds: number; target: number } | null {
    return this.#playback?.latency() ?? null;
  }
  /** A fixed rendition or null for automatic; kept for the playbacks that follow a restart. */
  setLevel(level: number | null): void {
    this.#level = level;
    this.#playback?.setLevel(level);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#abort?.abort();
    this.#video.removeEventListener('playing', this.#onPlaying);
    this.#detach();
  }

  async #waitAndAttach(): Promise<void> {
    while (!this.#closed && !(await this.#playlistExists())) {
      await new Promise<void>((resolve) => (this.#timer = setTimeout(resolve, POLL_MS)));
    }
    if (this.#closed) return;
    markOnce('hls-playlist');
    // A MediaStream left in srcObject would win over the MediaSource that hls.js attaches.
    this.#video.srcObject = null;
    let levelsKnown = false;
    const playback: HlsPlayback = await attachHls(this.#video, this.url, {
      live: true,
      onLevelsChange: () => {
        if (!levelsKnown && this.#level !== null) playback.setLevel(this.#level);
        levelsKnown = true;
        this.#onChange();
      },
      onFatalError: (message) => {
        console.warn(`onair: ${message}; starting HLS again`);
        this.#detach();
        this.#onChange();
        this.#timer = setTimeout(() => void this.#waitAndAttach(), RESTART_MS);
      },
    });
    if (this.#closed) return playback.destroy();
    markOnce('hls-attached');
    this.#playback = playback;
    playOrMute(this.#video);
  }

  async #playlistExists(): Promise<boolean> {
    this.#abort = new AbortController();
    try {
      const res = await fetch(this.url, { method: 'HEAD', cache: 'no-store', signal: this.#abort.signal });
      return res.ok;
    } catch {
      return false; // offline or aborted: try again (or stop, when closed)
    }
  }

  #detach(): void {
    this.#playback?.destroy();
    this.#playback = undefined;
    this.#started = false;
  }
}
