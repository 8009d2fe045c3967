/**
 * The studio's captures: camera, microphone, screen (with its sound), and the screen+camera composite.
 * `select()` acquires what a selection needs (reusing what is already open) and returns the tracks to send;
 * `release()` then stops every capture the selection no longer uses. Switching is thus: select → hand the
 * new tracks to the broadcaster → release, so the old tracks stop only once nothing sends them.
 */
import { TypedEmitter } from '../common/TypedEmitter.js';
import { AudioMixer } from './AudioMixer.js';
import { captureCamera, captureMicrophone, captureScreen } from './capture.js';
import { Compositor } from './Compositor.js';
import { NO_MEDIA, type OutgoingMedia } from './OutgoingMedia.js';

export const VIDEO_CHOICES = ['camera', 'screen', 'composite', 'none'] as const;
export type VideoChoice = (typeof VIDEO_CHOICES)[number];

export interface SourceSelection {
  video: VideoChoice;
  microphone: boolean;
  /** Camera capture height (the camera may give less). */
  cameraHeight: number;
}

export type MediaSourcesEvents = {
  /** A capture stopped by itself: the camera was unplugged, or the user stopped sharing the screen. */
  ended: ['camera' | 'screen' | 'microphone'];
};

const live = (t: MediaStreamTrack | undefined) => !!t && t.readyState === 'live';

export class MediaSources extends TypedEmitter<MediaSourcesEvents> {
  #camera: { stream: MediaStream; height: number } | undefined;
  #microphone: MediaStreamTrack | undefined;
  #screen: MediaStream | undefined;
  #compositor: Compositor | undefined;
  #mixer: AudioMixer | undefined;
  #selection: SourceSelection | undefined;
  #output: OutgoingMedia = NO_MEDIA;
  /** Captures replaced by newer ones, stopped at the next release(). */
  #retired: (() => void)[] = [];

  get output(): OutgoingMedia {
    return this.#output;
  }

  async select(sel: SourceSelection): Promise<OutgoingMedia> {
    const needCamera = sel.video === 'camera' || sel.video === 'composite';
    const needScreen = sel.video === 'screen' || sel.video === 'composite';
    if (needCamera && !(this.#camera && live(this.#camera.stream.getVideoTracks()[0]) && this.#camera.height === sel.cameraHeight)) {
      const stream = await captureCamera(sel.cameraHeight);
      this.#retire(this.#camera?.stream);
      this.#camera = { stream, height: sel.cameraHeight };
      this.#watchEnd(stream.getVideoTracks()[0], 'camera');
    }
    if (needScreen && !(this.#screen && live(this.#screen.getVideoTracks()[0]))) {
      const stream = await captureScreen();
      this.#retire(this.#screen);
      this.#screen = stream;
      this.#watchEnd(stream.getVideoTracks()[0], 'screen');
    }
    if (sel.microphone && !live(this.#microphone)) {
      const track = await captureMicrophone();
      this.#retire(this.#microphone);
      this.#microphone = track;
      this.#watchEnd(track, 'microphone');
    }
    this.#selection = sel;
    this.#output = { video: this.#video(sel), audio: this.#audio(sel) };
    return this.#output;
  }

  /** Stops what the current selection does not use. */
  release(): void {
    for (const stop of this.#retired.splice(0)) stop();
    const sel = this.#selection;
    const video = sel?.video ?? 'none';
    if (video !== 'camera' && video !== 'composite') this.#camera = this.#stop(this.#camera?.stream);
    if (video !== 'screen' && video !== 'composite') this.#screen = this.#stop(this.#screen);
    if (!sel?.microphone) this.#microphone = this.#stop(this.#microphone);
    if (this.#compositor && this.#output.video?.track !== this.#compositor.track) {
      this.#compositor.close();
      this.#compositor = undefined;
    }
    if (this.#mixer && this.#output.audio?.track !== this.#mixer.track) {
      this.#mixer.close();
      this.#mixer = undefined;
    }
  }

  stopAll(): void {
    this.#selection = undefined;
    this.#output = NO_MEDIA;
    this.release();
  }

  #video(sel: SourceSelection): OutgoingMedia['video'] {
    const camera = this.#camera?.stream;
    const screen = this.#screen;
    if (sel.video === 'camera' && camera) return { track: camera.getVideoTracks()[0]!, source: 'camera' };
    if (sel.video === 'screen' && screen) return { track: screen.getVideoTracks()[0]!, source: 'screen' };
    if (sel.video === 'composite' && camera && screen) {
      if (!this.#compositor || this.#compositor.screen !== screen || this.#compositor.camera !== camera) {
        const old = this.#compositor;
        this.#retired.push(() => old?.close());
        this.#compositor = new Compositor(screen, camera);
      }
      return { track: this.#compositor.track, source: 'composite' };
    }
    return null;
  }

  #audio(sel: SourceSelection): OutgoingMedia['audio'] {
    const screenAudio = sel.video === 'screen' || sel.video === 'composite' ? this.#screen?.getAudioTracks()[0] : undefined;
    const mic = sel.microphone ? this.#microphone : undefined;
    if (mic && screenAudio) {
      if (!this.#mixer?.mixes([mic, screenAudio])) {
        const old = this.#mixer;
        this.#retired.push(() => old?.close());
        this.#mixer = new AudioMixer([mic, screenAudio]);
      }
      return { track: this.#mixer.track, source: 'microphone' };
    }
    if (mic) return { track: mic, source: 'microphone' };
    if (screenAudio) return { track: screenAudio, source: 'screen-audio' };
    return null;
  }

  #retire(capture: MediaStream | MediaStreamTrack | undefined): void {
    if (capture) this.#retired.push(() => this.#stop(capture));
  }

  #stop(capture: MediaStream | MediaStreamTrack | undefined): undefined {
    if (capture instanceof MediaStream) for (const t of capture.getTracks()) t.stop();
    else capture?.stop();
    return undefined;
  }

  #watchEnd(track: MediaStreamTrack | undefined, what: 'camera' | 'screen' | 'microphone'): void {
    // 'ended' fires only when the browser or the user stops it, not on our own stop().
    track?.addEventListener('ended', () => this.emit('ended', what), { once: true });
  }
}
