/**
 * Whether a directory is this user's alone: the rule for the control socket's
 * directory and the workers' compile cache, whose contents are trusted as
 * they are (a socket that answers for the master, code that is run).
 */
import type fs from 'node:fs';

/** What `st` (from lstat, never stat: a link is not followed) says of the directory, for this user. */
export type Privacy = 'private' | 'open' | 'link' | 'not a directory' | { owner: number };

export function privacyOf(st: fs.Stats): Privacy {
  if (st.isSymbolicLink()) return 'link';
  if (!st.isDirectory()) return 'not a directory';
  const uid = process.getuid?.();
  if (uid === undefined) return 'private'; // Windows: no owners or modes to check.
  if (st.uid !== uid) return { owner: st.uid };
  return (st.mode & 0o077) !== 0 ? 'open' : 'private';
}
