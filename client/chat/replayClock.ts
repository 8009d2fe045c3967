/**
 * Where a recording's video is in wall-clock time, for replaying its chat. Pure.
 *
 * A recording starts when its live session does (`startedAt`), but its video starts a moment later (ffmpeg
 * starts, waits for a keyframe, writes the first segment): the lead-in. When the session has ended, the
 * lead-in is what the session's length has beyond the video's (the video ends with the session); without an
 * end (interrupted), none is assumed. Video position `t` (s) then shows the moment startedAt + lead-in + t.
 */
export interface ReplayTimes {
  startedAt: string;
  endedAt: string | null;
  durationSeconds: number;
}

/** The lead-in, in ms. */
export function replayLeadInMs(rec: ReplayTimes): number {
  if (!rec.endedAt || !(rec.durationSeconds > 0)) return 0;
  return Math.max(0, Date.parse(rec.endedAt) - Date.parse(rec.startedAt) - rec.durationSeconds * 1000);
}

/** The wall-clock moment (epoch ms) the video shows at position `seconds`. */
export function replayMoment(rec: ReplayTimes, seconds: number): number {
  return Date.parse(rec.startedAt) + replayLeadInMs(rec) + seconds * 1000;
}
