import fs from 'node:fs';
import path from 'node:path';
import { errorLine } from '../log.js';

/**
 * Atomic: a reader sees the old pid or the new one, never an empty or partial
 * file. The temporary file is created exclusively ('wx'), so a link planted at
 * its name is never followed; its name is random, so no one can plant a file
 * there beforehand to make the write fail. Math.random, not node:crypto,
 * which the preload would load in every process for this alone.
 * Returns why it could not be written, or undefined once it is.
 */
export function writePidFile(file: string, pid: number): string | undefined {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${Math.random().toString(36).slice(2)}.tmp`);
  let created = false;
  try {
    const fd = fs.openSync(tmp, 'wx', 0o644);
    created = true;
    try {
      fs.writeFileSync(fd, `${pid}\n`);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    return undefined;
  } catch (err) {
    // Left here, it would outlive this process: nothing else ever removes it.
    if (created) fs.rmSync(tmp, { force: true });
    return `cannot write the pid file ${file}: ${errorLine(err)}`;
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
