/**
 * Screen + camera picture-in-picture: draws the screen (fitted) and the camera in a corner onto a canvas,
 * 30 times a second, and sends the canvas as a video track (`canvas.captureStream(30)`).
 */
export interface CompositorOptions {
  width?: number;
  height?: number;
  fps?: number;
}

export class Compositor {
  readonly track: MediaStreamTrack;
  readonly screen: MediaStream;
  readonly camera: MediaStream;
  readonly #canvas: HTMLCanvasElement;
  readonly #ctx: CanvasRenderingContext2D;
  readonly #screenVideo: HTMLVideoElement;
  readonly #cameraVideo: HTMLVideoElement;
  readonly #timer: ReturnType<typeof setInterval>;
  #closed = false;

  constructor(screen: MediaStream, camera: MediaStream, { width = 1280, height = 720, fps = 30 }: CompositorOptions = {}) {
    this.screen = screen;
    this.camera = camera;
    this.#canvas = Object.assign(document.createElement('canvas'), { width, height });
    const ctx = this.#canvas.getContext('2d', { alpha: false });
    if (!ctx) throw new Error('this browser cannot draw on a canvas');
    this.#ctx = ctx;
    this.#screenVideo = sourceVideo(screen);
    this.#cameraVideo = sourceVideo(camera);
    const track = this.#canvas.captureStream(fps).getVideoTracks()[0];
    if (!track) throw new Error('this browser cannot capture a canvas');
    track.contentHint = 'detail';
    this.track = track;
    // Timers rather than requestAnimationFrame: frames keep coming while the studio tab is in the background.
    this.#timer = setInterval(() => this.#draw(), 1000 / fps);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.track.stop();
    this.#screenVideo.srcObject = null;
    this.#cameraVideo.srcObject = null;
  }

  #draw(): void {
    const { width: W, height: H } = this.#canvas;
    const ctx = this.#ctx;
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, W, H);
    const screen = this.#screenVideo;
    if (screen.videoWidth > 0) {
      const scale = Math.min(W / screen.videoWidth, H / screen.videoHeight);
      const w = screen.videoWidth * scale;
      const h = screen.videoHeight * scale;
      ctx.drawImage(screen, (W - w) / 2, (H - h) / 2, w, h);
    }
    const cam = this.#cameraVideo;
    if (cam.videoWidth > 0) {
      const w = Math.round(W / 4);
      const h = Math.round((w * cam.videoHeight) / cam.videoWidth);
      const margin = Math.round(W / 64);
      const x = W - w - margin;
      const y = H - h - margin;
      ctx.fillStyle = 'rgba(255,255,255,0.85)';
      ctx.fillRect(x - 2, y - 2, w + 4, h + 4);
      ctx.drawImage(cam, x, y, w, h);
    }
  }
}

function sourceVideo(stream: MediaStream): HTMLVideoElement {
  const v = document.createElement('video');
  v.muted = true;
  v.playsInline = true;
  v.srcObject = stream;
  void v.play().catch(() => undefined);
  return v;
}
