/**
 * The master's workers: each a child of one generation, started with
 * `--import batonjs/register` and every socket the master holds, whose requests
 * for sockets it did not inherit the master answers from its table.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Child } from '../generation/parent.js';
import { parseName } from '../listeners/address.js';
import type { Message } from '../protocol/messages.js';
import type { Env, Settings } from '../protocol/settings.js';
import { log } from '../log.js';
import { Handoff } from './handoff.js';
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
}

/** What the master needs of a worker: unit tests give fakes of it. */
export type Worker = Pick<Child,
  'pid' | 'name' | 'generation' | 'startedAt' | 'readyAt' | 'heartbeat' | 'state' | 'listening' | 'failed' | 'ready' | 'exited' | 'draining' | 'cut'
  | 'drain' | 'kill' | 'describeExit' | 'rssBytes'>;

/**
 * Called once as a generation starts, with the directory of the release it
 * runs (with --releases); what it returns spawns each of that generation's
 * workers, respawns included.
 */
export type Spawner = (generation: number, release?: string) => () => Worker;

/**
 * The script and working directory are resolved through their links once per
 * generation: a respawn then runs the release its generation started with,
 * even after `current` was switched to a release that was rolled back. A
 * release's workers run the script inside it, from its directory.
 */
export function workerSpawner(spec: WorkerSpec, sockets: SocketTable): Spawner {
  const handoff = new Handoff();
  return (generation, release) => {
    const script = physical(release === undefined ? spec.script : path.join(release, spec.script));
    const cwd = physical(release ?? spec.cwd);
    return () => handoff.add(new Child({
      execPath: spec.execPath,
      args: [...spec.nodeArgs, '--import', spec.register, script, ...spec.args],
      cwd,
      env: spec.env,
      sockets: sockets.all().map((h) => ({ name: h.name, fd: h.handle.fd })),
      settings: { ...spec.settings, generation },
      role: 'worker',
    }, (child, m, handle) => {
      if (m.type !== 'connection') answerListen(child, m, sockets);
      else if (handle) handoff.forward(child, m.id, m.address, handle);
    }));
  };
}

function physical(file: string): string {
  try {
    return fs.realpathSync(file);
  } catch {
    return file; // gone: the worker's failure to start names it as given
  }
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
