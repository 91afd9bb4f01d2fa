/**
 * Which code a release is, beyond its directory's name: the `version` of its package.json, and its revision, from a
 * REVISION file (as Capistrano and many deploy tools write it) or else the commit its .git checks out. Read as the
 * status and the release list are asked for, so a release rebuilt in place is seen; what cannot be read is left out.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ReleaseIdentity } from '../protocol/control.js';

/** A revision is shown as this many characters at most: a commit's short form, or a REVISION file's first line. */
const REVISION_CHARS = 40;

const read = (file: string): string | undefined => {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
};

/** The commit `dir/.git` checks out: HEAD's own, or its branch's, loose or packed. */
function commitOf(dir: string): string | undefined {
  const git = path.join(dir, '.git');
  const head = read(path.join(git, 'HEAD'))?.trim();
  const ref = head?.startsWith('ref: ') ? head.slice(5) : undefined;
  if (ref === undefined) return head;
  const loose = read(path.join(git, ref))?.trim();
  if (loose) return loose;
  return read(path.join(git, 'packed-refs'))
    ?.split('\n')
    .find((line) => line.endsWith(` ${ref}`))
    ?.split(' ')[0];
}

export function identify(dir: string): ReleaseIdentity {
  let version: unknown;
  try {
    version = JSON.parse(read(path.join(dir, 'package.json')) ?? '{}').version;
  } catch {
    // not JSON: no version to tell
  }
  const revision = (read(path.join(dir, 'REVISION'))?.split('\n')[0]?.trim() || commitOf(dir))?.slice(
    0,
    REVISION_CHARS,
  );
  return {
    ...(typeof version === 'string' && version ? { version: version.slice(0, REVISION_CHARS) } : {}),
    ...(revision && /^[\x20-\x7e]+$/.test(revision) ? { revision } : {}),
  };
}
