/** Where OnAir's own files are, whether it runs from dist/ (compiled) or from the sources (tests). */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(from: string): string {
  let dir = from;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find OnAir's package.json above ${from}`);
    dir = up;
  }
  return dir;
}

export const PROJECT_ROOT = findRoot(path.dirname(fileURLToPath(import.meta.url)));
/** The browser bundle and pages, built by scripts/build.mjs. */
export const PUBLIC_DIR = path.join(PROJECT_ROOT, 'dist', 'public');
