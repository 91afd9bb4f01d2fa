import fs from 'node:fs';
import path from 'node:path';
import { errorLine, log } from '../log.js';

/** Atomic: a reader sees the old pid or the new one, never an empty or partial file. */
export function writePidFile(file: string, pid: number): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(tmp, `${pid}\n`);
    fs.renameSync(tmp, file);
  } catch (err) {
    log('error', 'cannot write the pid file', { file, error: errorLine(err) });
    // Left here, it would outlive this process: nothing else ever removes it.
    try {
      fs.unlinkSync(tmp);
    } catch {
      // Never created.
    }
  }
}

/** Removes the pid file only if it still names this process (a successor may own it now). */
export function removePidFile(file: string): void {
  try {
    if (fs.readFileSync(file, 'utf8').trim() === String(process.pid)) fs.unlinkSync(file);
  } catch {
    // Already gone, or never written.
  }
}
