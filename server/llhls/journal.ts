/**
 * A rendition's segment journal (`r<n>.jsonl` in its session folder): one HistoryEntry per closed segment, one
 * JSON line each, appended by LiveLadder as segments close. Read back for the session's VOD playlist and
 * recording length (server/hls/sessionFiles.ts) and for the rewind window of a live rendition (DvrWindow.ts).
 * Written by OnAir, still checked line by line: a torn last line after a crash is skipped.
 */
import fs from 'node:fs';
import { z } from 'zod';
import type { HistoryEntry } from './RenditionPackager.js';

const journalLine = z.object({
  msn: z.number().int().nonnegative(),
  duration: z.number().nonnegative(),
  initId: z.number().int().nonnegative(),
  discontinuitySeq: z.number().int().nonnegative(),
  programDateTime: z.number(),
});

/** The entries of one journal file; none when it does not exist (yet). */
export function readJournalFile(file: string): HistoryEntry[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: HistoryEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      const parsed = journalLine.safeParse(JSON.parse(line));
      if (parsed.success) out.push(parsed.data);
    } catch {
      /* a line cut by a crash */
    }
  }
  return out;
}
