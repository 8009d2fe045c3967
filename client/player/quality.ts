/** The quality choices the player offers: simulcast layers (WebRTC) or HLS renditions, lowest first. */

export interface QualityInfo {
  /**
   * The choices, lowest first: simulcast layers (WebRTC) or renditions (HLS, "720p"…); empty when there is
   * nothing to choose (no video yet, a single layer).
   */
  names: string[];
  /** The viewer's choice: an index into `names` (0 = lowest) or null for automatic. */
  preferred: number | null;
  /** The one being received now, when known. */
  current: number | null;
}

/** Names of simulcast layers, lowest first. */
export function layerNames(layers: number): string[] {
  if (layers === 2) return ['Low', 'High'];
  if (layers === 3) return ['Low', 'Medium', 'High'];
  return Array.from({ length: layers }, (_, i) => `Layer ${i + 1}`);
}
