/** Mixes several audio tracks (microphone + the screen's sound) into one track with Web Audio. */
export class AudioMixer {
  readonly track: MediaStreamTrack;
  readonly inputs: readonly MediaStreamTrack[];
  readonly #context: AudioContext;

  constructor(inputs: MediaStreamTrack[]) {
    this.inputs = inputs;
    this.#context = new AudioContext();
    const destination = this.#context.createMediaStreamDestination();
    for (const t of inputs) this.#context.createMediaStreamSource(new MediaStream([t])).connect(destination);
    const track = destination.stream.getAudioTracks()[0];
    if (!track) throw new Error('this browser cannot mix audio');
    this.track = track;
    void this.#context.resume().catch(() => undefined);
  }

  mixes(inputs: MediaStreamTrack[]): boolean {
    return inputs.length === this.inputs.length && inputs.every((t) => this.inputs.includes(t));
  }

  close(): void {
    this.track.stop();
    void this.#context.close().catch(() => undefined);
  }
}
