/** The browser's capture calls, with errors a broadcaster understands. */
import { OnAirClientError } from '../common/errors.js';

export async function captureCamera(height: number): Promise<MediaStream> {
  return capture('camera', () =>
    navigator.mediaDevices.getUserMedia({
      video: { height: { ideal: height }, width: { ideal: Math.round((height * 16) / 9) }, frameRate: { ideal: 30 } },
    }),
  );
}

export async function captureMicrophone(): Promise<MediaStreamTrack> {
  const stream = await capture('microphone', () =>
    navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true } }),
  );
  return stream.getAudioTracks()[0]!;
}

/** The screen, a window or a tab, with its sound when the browser offers it. */
export async function captureScreen(): Promise<MediaStream> {
  if (!navigator.mediaDevices?.getDisplayMedia) throw new OnAirClientError('media', 'this browser cannot share the screen');
  const stream = await capture('screen', () => navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 30 } }, audio: true }));
  for (const t of stream.getVideoTracks()) t.contentHint = 'detail';
  return stream;
}

async function capture<T>(what: 'camera' | 'microphone' | 'screen', fn: () => Promise<T>): Promise<T> {
  if (!navigator.mediaDevices) throw new OnAirClientError('media', `no ${what} access: the studio needs https (or localhost)`);
  try {
    return await fn();
  } catch (err) {
    const name = err instanceof DOMException ? err.name : '';
    const message =
      name === 'NotAllowedError'
        ? what === 'screen'
          ? 'screen sharing was cancelled or refused'
          : `access to the ${what} was refused: allow it in the browser's site settings`
        : name === 'NotFoundError'
          ? `no ${what} found`
          : name === 'NotReadableError'
            ? `the ${what} is in use by another application`
            : `cannot use the ${what}: ${err instanceof Error ? err.message : String(err)}`;
    throw new OnAirClientError('media', message, { cause: err });
  }
}
