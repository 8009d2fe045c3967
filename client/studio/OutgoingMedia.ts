/** The tracks a broadcaster sends, each with its source as the signaling contract names it. */
import type { Source } from '../../shared/signaling.js';

export type VideoSource = Extract<Source, 'camera' | 'screen' | 'composite'>;
export type AudioSource = Extract<Source, 'microphone' | 'screen-audio'>;

export interface OutgoingMedia {
  video: { track: MediaStreamTrack; source: VideoSource } | null;
  audio: { track: MediaStreamTrack; source: AudioSource } | null;
}

export const NO_MEDIA: OutgoingMedia = { video: null, audio: null };
