import fs from 'node:fs';

/**
 * The working directory as the user named it. getcwd() resolves symlinks; the
 * shell's PWD keeps `current -> releases/vN`, so a process started there later
 * re-resolves the link and runs the new release.
 */
export function logicalCwd(): string {
  const pwd = process.env.PWD;
  try {
    if (pwd && fs.realpathSync(pwd) === fs.realpathSync(process.cwd())) return pwd;
  } catch {
    // PWD names a directory that is gone.
  }
  return process.cwd();
}
