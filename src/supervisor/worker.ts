/**
 * The master's workers: each a child of one generation, started with
 * `--import batonjs/register` and every socket the master holds, whose requests
 * for sockets it did not inherit the master answers from its table.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Child, type ChildSpec } from '../generation/parent.js';
import { parseName } from '../listeners/address.js';
import type { HeartbeatMessage, Message } from '../protocol/messages.js';
import type { Env, Settings } from '../protocol/settings.js';
import { log } from '../log.js';
import { Handoff } from './handoff.js';
import type { LogFile } from './log-file.js';
import type { SocketTable } from './sockets.js';

export interface WorkerSpec {
  execPath: string;
  nodeArgs: string[];
  /** The preload that installs the worker runtime. */
  register: string;
  /** Absolute; with releases, relative to the release's directory. */
  script: string;
  args: string[];
  cwd: string;
  env: Env;
  settings: Settings;
  /** --log-file: the workers' stdout and stderr go there, line by line. */
  logFile?: LogFile;
}

/** What the master needs of a worker: unit tests give fakes of it. */
export type Worker = Pick<
  Child,
  | 'pid'
  | 'name'
  | 'generation'
  | 'execPath'
  | 'startedAt'
  | 'readyAt'
  | 'heartbeat'
  | 'state'
  | 'listening'
  | 'isSettled'
  | 'settled'
  | 'failed'
  | 'ready'
  | 'exited'
  | 'draining'
  | 'cut'
  | 'drain'
  | 'send'
  | 'kill'
  | 'describeExit'
  | 'rssBytes'
>;

/**
 * Called once as a generation starts, with the directory of the release it
 * runs (with --releases) and the node binary it runs on (`--node`, `baton
 * reload --node`; absent, the spec's); what it returns spawns each of that
 * generation's workers, respawns included.
 */
export type Spawner = (generation: number, release?: string, node?: string) => () => Worker;

/**
 * The script and working directory are resolved through their links once per
 * generation: a respawn then runs the release its generation started with,
 * even after `current` was switched to a release that was rolled back. A
 * release's workers run the script inside it, from its directory, which is
 * held open (pinned) for as long as the generation may spawn.
 */
export function workerSpawner(
  spec: WorkerSpec,
  sockets: SocketTable,
  heartbeat: (worker: Worker, beat: HeartbeatMessage) => void = () => {},
): Spawner {
  const handoff = new Handoff();
  return (generation, release, node) => {
    const { script, cwd, fd } =
      release === undefined ? { script: physical(spec.script), cwd: physical(spec.cwd) } : pinned(release, spec.script);
    const launch = (): Worker =>
      handoff.add(
        new Child(
          {
            execPath: node ?? spec.execPath,
            args: [...spec.nodeArgs, '--import', spec.register, script, ...spec.args],
            cwd,
            env: spec.env,
            sockets: sockets.all().map((h) => ({ name: h.name, fd: h.handle.fd })),
            settings: { ...spec.settings, generation },
            role: 'worker',
            ...(spec.logFile ? { output: outputTo(spec.logFile) } : {}),
          },
          (child, m, handle) => {
            if (m.type === 'heartbeat') heartbeat(child, m);
            else if (m.type !== 'connection') answerListen(child, m, sockets);
            else if (handle) handoff.forward(child, m.id, m.address, handle);
          },
        ),
      );
    if (fd !== undefined) unpinWhenGone.register(launch, fd);
    return launch;
  };
}

function physical(file: string): string {
  try {
    return fs.realpathSync(file);
  } catch {
    return file; // gone: the worker's failure to start names it as given
  }
}

/** A pinned release's directory is closed once its generation can spawn no more (its launcher is collected). */
const unpinWhenGone = new FinalizationRegistry<number>((fd) => {
  try {
    fs.closeSync(fd);
  } catch {
    // already closed
  }
});

/**
 * Release `dir` (its real path, checked to be in --releases DIR), opened once
 * and entered through /proc/<pid>/fd/N at each spawn: the kernel does not look
 * the name up again, so a release swapped for a link after the check cannot
 * lead a worker, a respawn included, out of DIR. The script is named relative
 * to it. The directory that was opened must be the one checked, or the
 * generation is refused (a throw here is the reload's refusal). Where there is
 * no /proc, the real path.
 */
function pinned(dir: string, script: string): { script: string; cwd: string; fd?: number } {
  let fd: number;
  try {
    fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW);
  } catch (err) {
    throw new Error(
      `release ${dir} cannot be opened (${(err as NodeJS.ErrnoException).code}): it was replaced or removed as it was started`,
    );
  }
  const entry = `/proc/${process.pid}/fd/${fd}`;
  let opened: string | undefined;
  try {
    opened = fs.realpathSync(entry);
  } catch {
    // no /proc: the real path is the best there is
  }
  if (opened === undefined) {
    fs.closeSync(fd);
    return { script: path.join(dir, script), cwd: dir };
  }
  if (opened !== dir) {
    fs.closeSync(fd);
    throw new Error(
      `release ${dir} was replaced as it was started (it now leads to ${opened}); nothing was started from it`,
    );
  }
  return { script: path.normalize(script), cwd: entry, fd };
}

/** A worker listens on an address no socket it inherited serves: the master binds it (once) and passes it over. */
function answerListen(child: Child, m: Message, sockets: SocketTable): void {
  if (m.type !== 'listen') return;
  const address = parseName(m.address);
  if (!address) {
    child.send({ type: 'listen-result', id: m.id, code: 'EINVAL' });
    return;
  }
  void sockets.acquire(address).then((held) => {
    if (held instanceof Error) {
      log('error', `cannot bind ${m.address} for ${child.name}: ${held.code ?? held.message}`);
      child.send({ type: 'listen-result', id: m.id, code: held.code ?? 'EINVAL' });
    } else {
      child.send({ type: 'listen-result', id: m.id, name: held.name }, held.handle);
    }
  });
}

/** A worker's stdout and stderr, line by line into the log file. */
function outputTo(file: LogFile): ChildSpec['output'] {
  return (stream, from, child) => file.follow(from, { ...child, stream });
}
