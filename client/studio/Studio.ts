/**
 * The studio page: sign in, pick or create a stream, choose sources (preview), go live, watch the live
 * panel, switch sources while live, end. It wires the parts together; the parts do the work:
 * SignInForm, StreamPicker, MediaSources (captures), Broadcaster (WebRTC), LivePanel.
 */
import type { OwnedStream } from '../../shared/api.js';
import { api } from '../common/api.js';
import { OnAirClientError, errorCode } from '../common/errors.js';
import { queryParam } from '../common/queryParam.js';
import { TypedEmitter } from '../common/TypedEmitter.js';
import { handshakeRefusal } from '../signaling/handshakeRefusal.js';
import { SignalingClient } from '../signaling/SignalingClient.js';
import { byId } from '../ui/dom.js';
import { showError, showToast } from '../ui/toast.js';
import { Broadcaster, type BroadcastState } from './Broadcaster.js';
import { DestinationsPanel } from './DestinationsPanel.js';
import { IngestHealthPanel } from './IngestHealthPanel.js';
import { AudienceSplitPoller } from './AudienceSplitPoller.js';
import { LivePanel } from './LivePanel.js';
import { MediaSources, VIDEO_CHOICES, type SourceSelection, type VideoChoice } from './MediaSources.js';
import type { OutgoingMedia } from './OutgoingMedia.js';
import { loadSession, signOut, type Session } from './session.js';
import { SignInForm } from './SignInForm.js';
import { StreamPicker } from './StreamPicker.js';
import { VIDEO_CODECS, type VideoCodecName } from './videoCodec.js';

const ON_AIR: ReadonlySet<BroadcastState> = new Set(['connecting', 'live', 'reconnecting']);

export class Studio extends TypedEmitter<{ state: [BroadcastState] }> {
  readonly #signIn = new SignInForm((s) => this.#enter(s));
  readonly #workspace = byId('workspace');
  readonly #userName = byId('user-name');
  readonly #picker = new StreamPicker();
  readonly #sources = new MediaSources();
  readonly #panel = new LivePanel();
  readonly #split = new AudienceSplitPoller((split) => this.#panel.setSplit(split));
  readonly #destinations = new DestinationsPanel();
  readonly #health = new IngestHealthPanel();
  readonly #preview = byId('preview', HTMLVideoElement);
  readonly #previewButton = byId('preview-button', HTMLButtonElement);
  readonly #videoSource = byId('video-source', HTMLSelectElement);
  readonly #cameraHeight = byId('camera-height', HTMLSelectElement);
  readonly #microphone = byId('microphone', HTMLInputElement);
  readonly #codec = byId('codec', HTMLSelectElement);
  readonly #goLiveButton = byId('go-live', HTMLButtonElement);
  readonly #endButton = byId('end-live', HTMLButtonElement);
  #session: Session | undefined;
  #signaling: SignalingClient | undefined;
  #broadcaster: Broadcaster | undefined;
  #sessionSubscriptions: (() => void)[] = [];
  #capturing = false;
  /** The selection the sources run with, to put the controls back when a change fails. */
  #applied: SourceSelection | undefined;
  #applying: Promise<void> = Promise.resolve();
  #viewerCount = 0;
  #busy = false;

  constructor() {
    super();
    if (!VIDEO_CODECS.includes(this.#codec.value as VideoCodecName)) this.#codec.value = 'VP8';
    byId('signout', HTMLButtonElement).addEventListener('click', () => void this.#leave());
    this.#previewButton.addEventListener('click', () => this.#applySources().catch((err: unknown) => showError(err, 'Cannot start the preview')));
    for (const control of [this.#videoSource, this.#cameraHeight, this.#microphone]) {
      control.addEventListener('change', () => {
        if (this.#capturing) this.#applySources().catch((err: unknown) => showError(err, 'Cannot switch the source'));
      });
    }
    this.#goLiveButton.addEventListener('click', () => this.goLive().catch((err: unknown) => showError(err, 'Cannot go live')));
    this.#endButton.addEventListener('click', () => this.end().catch((err: unknown) => showError(err, 'Cannot end the broadcast')));
    this.#picker.on('change', () => {
      this.#renderControls();
      this.#showDestinations();
      this.#health.show(this.#picker.selected?.id);
    });
    this.#picker.on('unauthorized', () => void this.#leave('Your session has expired: sign in again.'));
    this.#sources.on('ended', (what) => this.#captureEnded(what));
    window.addEventListener('beforeunload', (e) => {
      if (ON_AIR.has(this.state)) e.preventDefault();
    });
  }

  get state(): BroadcastState {
    return this.#broadcaster?.state ?? 'idle';
  }
  get viewerCount(): number {
    return this.#viewerCount;
  }

  onState(listener: (s: BroadcastState) => void): () => void {
    return this.on('state', listener);
  }

  start(): void {
    const session = loadSession();
    if (session) this.#enter(session);
    else this.#signIn.show();
  }

  async goLive(streamId?: string): Promise<void> {
    const broadcaster = this.#broadcaster;
    if (!broadcaster) throw new OnAirClientError('unauthorized', 'sign in first');
    if (streamId && !this.#picker.select(streamId)) {
      await this.#picker.refresh(streamId);
      if (!this.#picker.select(streamId)) throw new OnAirClientError('not_found', `you have no stream ${streamId}`);
    }
    const stream = this.#picker.selected;
    if (!stream) throw new OnAirClientError('bad_request', 'choose or create a stream first');
    this.#setBusy(true);
    try {
      if (!this.#capturing) await this.#applySources();
      const media = this.#sources.output;
      if (!media.video && !media.audio) throw new OnAirClientError('media', 'choose a camera, a screen or the microphone first');
      broadcaster.videoCodec = this.#codec.value as VideoCodecName;
      await broadcaster.start(stream.id, media);
    } finally {
      this.#setBusy(false);
    }
    void this.#loadViewerCount(stream.id);
  }

  async end(): Promise<void> {
    await this.#broadcaster?.stop();
  }

  dropConnection(): void {
    this.#signaling?.dropConnection();
  }

  #enter(session: Session): void {
    this.#session = session;
    this.#signIn.hide();
    this.#workspace.hidden = false;
    this.#userName.textContent = session.user.username;
    this.#picker.setToken(session.token);
    this.#destinations.setToken(session.token);
    void this.#picker.refresh(queryParam('stream'));

    const signaling = new SignalingClient({ token: session.token });
    const broadcaster = new Broadcaster({ signaling });
    // The Device loads now, not after the "Go live" click.
    broadcaster.prepare();
    this.#signaling = signaling;
    this.#broadcaster = broadcaster;
    this.#sessionSubscriptions = [
      signaling.on('connect_error', (err) => {
        if (handshakeRefusal(err)?.code === 'unauthorized') void this.#leave('Your session has expired: sign in again.');
      }),
      broadcaster.on('state', (s) => this.#onState(s)),
      broadcaster.on('viewerCount', (n) => this.#setViewers(n)),
      broadcaster.on('stats', (s) => {
        this.#panel.setStats(s);
        this.#health.onUpload(s);
      }),
      broadcaster.on('state', (s) => this.#health.onBroadcastState(s)),
      broadcaster.on('error', (err) => showError(err, 'The broadcast stopped')),
      signaling.on('restream:state', (e) => this.#destinations.onStateEvent(e)),
      signaling.on('ingest:health', (e) => this.#health.onEvent(e)),
      broadcaster.on('started', ({ streamId, resumed }) => {
        this.#picker.setStatus(streamId, 'live');
        this.#showDestinations();
        if (resumed) showToast('Back on air.');
      }),
      // The list shows the end at once (the stop's answer, or broadcast:ended), not when the server's list
      // catches up: the server finishes the recording before it calls the stream ended.
      broadcaster.on('ended', ({ streamId }) => this.#picker.setStatus(streamId, 'ended')),
    ];
    // Connected from the start, not only once live here: an encoder's broadcast of the owner's streams
    // (OBS over RTMP, SRT, WHIP) reports its health to this socket (ingest:health).
    signaling.connect();
    this.#renderControls();
  }

  async #leave(message?: string): Promise<void> {
    await this.#broadcaster?.stop().catch(() => undefined);
    for (const u of this.#sessionSubscriptions.splice(0)) u();
    this.#broadcaster?.close();
    this.#signaling?.close();
    this.#broadcaster = undefined;
    this.#signaling = undefined;
    this.#session = undefined;
    this.#stopCapture();
    signOut();
    this.#workspace.hidden = true;
    this.#onState('idle');
    this.#signIn.show(message);
  }

  #selection(): SourceSelection {
    const video = this.#videoSource.value as VideoChoice;
    return {
      video: VIDEO_CHOICES.includes(video) ? video : 'camera',
      microphone: this.#microphone.checked,
      cameraHeight: Number(this.#cameraHeight.value) || 720,
    };
  }

  /** Captures what the controls say, shows it, sends it if live, then stops what is no longer used. */
  #applySources(): Promise<void> {
    const run = this.#applying.then(async () => {
      const selection = this.#selection();
      let media: OutgoingMedia;
      try {
        media = await this.#sources.select(selection);
      } catch (err) {
        this.#restoreControls();
        throw err;
      }
      this.#applied = selection;
      this.#capturing = true;
      this.#showPreview(media);
      await this.#broadcaster?.setMedia(media);
      this.#sources.release();
      this.#renderControls();
    });
    this.#applying = run.catch(() => undefined);
    return run;
  }

  #stopCapture(): void {
    this.#sources.stopAll();
    this.#capturing = false;
    this.#applied = undefined;
    this.#preview.srcObject = null;
    this.#renderControls();
  }

  #restoreControls(): void {
    const a = this.#applied;
    if (!a) return;
    this.#videoSource.value = a.video;
    this.#microphone.checked = a.microphone;
    this.#cameraHeight.value = String(a.cameraHeight);
  }

  #showPreview(media: OutgoingMedia): void {
    // Video only: hearing oneself would echo.
    this.#preview.srcObject = media.video ? new MediaStream([media.video.track]) : null;
    if (media.video) void this.#preview.play().catch(() => undefined);
  }

  #captureEnded(what: 'camera' | 'screen' | 'microphone'): void {
    if (what === 'microphone') {
      this.#microphone.checked = false;
      showToast('The microphone stopped.', 'error');
    } else if (what === 'screen' && this.#videoSource.value !== 'camera') {
      this.#videoSource.value = 'camera';
      showToast('Screen sharing stopped: back to the camera.');
    } else {
      this.#videoSource.value = 'none';
      showToast(`The ${what} stopped.`, 'error');
    }
    if (this.#capturing) this.#applySources().catch((err: unknown) => showError(err, 'Cannot switch the source'));
  }

  async #loadViewerCount(streamId: string): Promise<void> {
    try {
      const s = await api<OwnedStream>('GET', `/api/streams/${encodeURIComponent(streamId)}`, { token: this.#session?.token });
      this.#setViewers(s.viewerCount);
    } catch (err) {
      if (errorCode(err) !== 'not_found') console.warn('onair: cannot read the viewer count', err);
    }
  }

  #showDestinations(): void {
    this.#destinations.show(this.#picker.selected?.id).catch((err: unknown) => showError(err, 'Cannot read the restream destinations'));
  }

  #setViewers(n: number): void {
    this.#viewerCount = n;
    this.#panel.setViewers(n);
  }

  #onState(state: BroadcastState): void {
    this.#panel.setState(state);
    const streamId = this.#picker.selected?.id;
    if (state === 'live' && streamId && this.#session) this.#split.start(streamId, this.#session.token);
    else if (state !== 'reconnecting') this.#split.stop();
    this.#renderControls();
    this.emit('state', state);
  }

  #setBusy(busy: boolean): void {
    this.#busy = busy;
    this.#renderControls();
  }

  #renderControls(): void {
    const onAir = ON_AIR.has(this.state);
    this.#goLiveButton.disabled = this.#busy || onAir || !this.#picker.selected || !this.#broadcaster;
    this.#endButton.disabled = !onAir;
    this.#codec.disabled = onAir;
    this.#picker.setLocked(onAir);
    this.#previewButton.hidden = this.#capturing;
  }
}
