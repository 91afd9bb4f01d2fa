import fs from 'node:fs';
import path from 'node:path';

/**
 * The working directory as the user named it. getcwd() resolves symlinks; the
 * shell's PWD keeps `current -> releases/vN`, so a process started there later
 * re-resolves the link and runs the new release.
 */
export function logicalCwd(): string {
  const pwd = process.env.PWD;
  const physical = process.cwd();
  // Most processes start where no link is in the way: no path to resolve then.
  if (pwd === physical) return pwd;
  try {
    if (pwd && fs.realpathSync(pwd) === fs.realpathSync(physical)) return pwd;
  } catch {
    // PWD names a directory that is gone.
  }
  return physical;
}

/**
 * `file` seen through the logical working directory. Node resolves a relative
 * script against the physical cwd (`releases/v1/app.js`), which would pin every
 * successor to the release it was first started from; `current/app.js` follows
 * the link.
 */
export function throughLogicalCwd(file: string, logical: string): string {
  const physical = process.cwd();
  if (logical === physical || !file.startsWith(physical + path.sep)) return file;
  return path.join(logical, file.slice(physical.length + 1));
}
