/**
 * Where the control socket lives: `<dir>/<name>.sock`, in a private (0700)
 * directory, `$XDG_RUNTIME_DIR/baton` or `<tmpdir>/baton-<uid>`. `--control
 * PATH` overrides the whole path; `--name` picks one of several masters.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { probeSocket } from '../listeners/unix-path.js';
import { oneLine, quote } from '../protocol/quote.js';
import { privacyOf } from '../private-dir.js';

/** The name of a master started without `--name`. */
export const DEFAULT_NAME = 'default';

const NAME_RE = /^[A-Za-z0-9._-]{1,64}$/;

type Env = Record<string, string | undefined>;

export function defaultControlDir(env: Env = process.env): string {
  const runtime = env.XDG_RUNTIME_DIR;
  if (runtime !== undefined && runtime !== '') return path.join(runtime, 'baton');
  return path.join(os.tmpdir(), `baton-${process.getuid?.() ?? 'user'}`);
}

/** Throws a one-line Error unless `name` is usable as a master's name (and file name). */
export function validateName(name: string): string {
  if (!NAME_RE.test(name) || name === '.' || name === '..') {
    throw new Error(
      `--name: ${quote(name)} is not a valid name (use 1 to 64 letters, digits, '.', '_' or '-', e.g. --name api)`,
    );
  }
  return name;
}

export function controlPath(name: string, dir: string = defaultControlDir()): string {
  return path.join(dir, `${validateName(name)}.sock`);
}

const notWritable = (dir: string, code: string): Error =>
  new Error(
    `control socket directory ${quote(dir)} is not writable (${code}); pass --control PATH in a writable directory`,
  );

/**
 * Makes `dir` (and its parents) exist as a private directory of this user:
 * created 0700; an existing one of ours that others can read or write is set
 * back to 0700; one owned by another user is refused (it could be a trap set in
 * a shared /tmp). Meant for the default directory, which baton owns; a
 * directory given with --control is the user's to choose and is left as it is.
 * Throws a one-line Error.
 */
export function prepareControlDir(dir: string): void {
  let st: fs.Stats;
  try {
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      if (codeOf(err) !== 'EEXIST') throw err; // a file in the way: said below
    }
    st = fs.lstatSync(dir);
  } catch (err) {
    throw notWritable(dir, codeOf(err));
  }
  if (!othersHaveAccess(dir, st)) return;
  try {
    fs.chmodSync(dir, 0o700);
  } catch (err) {
    throw notWritable(dir, codeOf(err));
  }
}

/**
 * The client's side of prepareControlDir: in the default directory, a socket
 * answers for this user's masters only if no one else could have put it there,
 * so a directory another user owns or can write to is refused: a fake master
 * in it would answer `baton reload` with success. The client changes nothing;
 * a missing directory is fine (no master runs there). Throws a one-line Error.
 */
export function checkControlDir(dir: string): void {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(dir);
  } catch (err) {
    if (codeOf(err) === 'ENOENT') return;
    throw new Error(
      `cannot check the control socket directory ${quote(dir)} (${codeOf(err)}); pass --control PATH to name the socket`,
    );
  }
  if (!othersHaveAccess(dir, st)) return;
  const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
  throw new Error(
    `control socket directory ${quote(dir)} is open to other users (mode ${mode}), so a socket in it may not be your master's; ` +
      'remove it (baton run makes it anew, private), or pass --control PATH',
  );
}

/**
 * Throws a one-line Error unless `st` (from lstat) is a directory (not a link
 * to one) owned by this user; then tells whether group or others have any
 * access to it.
 */
function othersHaveAccess(dir: string, st: fs.Stats): boolean {
  const privacy = privacyOf(st);
  if (privacy === 'link' || privacy === 'not a directory') {
    throw new Error(
      `control socket directory ${quote(dir)} is not a directory${privacy === 'link' ? ' (it is a symbolic link)' : ''}; ` +
        'remove it, or pass --control PATH in a private directory',
    );
  }
  if (typeof privacy === 'object') {
    throw new Error(
      `control socket directory ${quote(dir)} belongs to uid ${privacy.owner}, not to this user (uid ${process.getuid?.()}); ` +
        'remove it, or pass --control PATH in a directory of your own',
    );
  }
  return privacy === 'open';
}

/** The names (without `.sock`) of the control sockets in `dir`, sorted; [] if it does not exist. */
export function findControlSockets(dir: string = defaultControlDir()): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter((e) => e.name.endsWith('.sock') && NAME_RE.test(e.name.slice(0, -5)) && e.isSocket())
    .map((e) => e.name.slice(0, -5))
    .sort();
}

/**
 * What is wrong with the directory that is to hold the socket `file`, in one
 * line with the fix; undefined if it is a directory. bind() cannot say: libuv
 * reports its ENOENT as EACCES.
 */
export function controlDirProblem(file: string): string | undefined {
  const dir = path.dirname(file);
  let code: string;
  try {
    if (fs.statSync(dir).isDirectory()) return undefined;
    code = 'ENOTDIR';
  } catch (err) {
    code = codeOf(err);
  }
  const head = `cannot create control socket ${quote(file)}:`;
  if (code === 'ENOENT') {
    return `${head} directory ${quote(dir)} does not exist; create it (mkdir -p ${quote(dir)}), or pass --control PATH in an existing directory`;
  }
  if (code === 'ENOTDIR')
    return `${head} ${quote(dir)} is not a directory; pass --control PATH in an existing directory`;
  return undefined; // EACCES and the like: the bind says so, with the path
}

/**
 * The socket a master (`baton run`) listens on: `--control` as given (its
 * directory must exist), else `<default dir>/<name>.sock` with the default
 * directory prepared. Throws a one-line Error.
 */
export function serverControlPath(options: { name?: string; control?: string }, env: Env = process.env): string {
  if (options.control !== undefined) {
    const file = path.resolve(options.control);
    const problem = controlDirProblem(file);
    if (problem) throw new Error(problem);
    return file;
  }
  const dir = defaultControlDir(env);
  prepareControlDir(dir);
  return controlPath(options.name ?? DEFAULT_NAME, dir);
}

/**
 * The socket `baton reload|stop|status|releases` talks to: `--control` (not checked:
 * the user's choice), else `--name`, else the master named `default`, in the
 * default directory once it is checked to be private. Without --name, another
 * master is never chosen for being the only one running: `baton stop` meant
 * for the default master must not stop `billing`. When no `default` runs but
 * others do, a one-line Error lists them; with none running it gives the
 * default path, so the client's "no master is running" message names the
 * place it looked.
 */
export async function clientControlPath(
  options: { name?: string; control?: string },
  env: Env = process.env,
): Promise<string> {
  if (options.control !== undefined) return path.resolve(options.control);
  const dir = defaultControlDir(env);
  checkControlDir(dir);
  if (options.name !== undefined) return controlPath(options.name, dir);
  const file = controlPath(DEFAULT_NAME, dir);
  // Anything but stale (live, or EACCES) is the client's to report when it connects.
  if ((await probeSocket(file)) !== 'stale') return file;
  const live: string[] = [];
  for (const name of findControlSockets(dir)) {
    if (name !== DEFAULT_NAME && (await probeSocket(path.join(dir, `${name}.sock`))) !== 'stale') live.push(name);
  }
  if (live.length > 0) {
    throw new Error(
      `no baton master named '${DEFAULT_NAME}' is running in ${oneLine(dir)}; masters running: ${live.join(', ')}; ` +
        `pass --name NAME (e.g. --name ${live[0]})`,
    );
  }
  return file;
}

function codeOf(err: unknown): string {
  return (err as NodeJS.ErrnoException | undefined)?.code ?? String((err as Error | undefined)?.message ?? err);
}
