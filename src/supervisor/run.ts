/**
 * `baton run`: the master process in the foreground. It binds what it must,
 * opens the control socket, starts the first generation and maps signals:
 * SIGHUP/SIGUSR2 reload, SIGTERM/SIGINT drain and stop, a second SIGINT stops
 * at once. Its pid never changes, so it suits systemd and a container's PID 1.
 */
import { fileURLToPath } from 'node:url';
import { ENV, LISTEN_VARS, readListenEnv } from '../protocol/env.js';
import { logicalCwd } from '../cwd.js';
import { configureLog, log } from '../log.js';
import type { Address } from '../listeners/address.js';
import { inherit } from '../listeners/inherit.js';
import { startControlServer } from '../control/server.js';
import { Master } from './master.js';

export interface RunOptions {
  name: string;
  workers: number;
  script: string;
  args: string[];
  nodeArgs: string[];
  controlPath: string;
  readyTimeoutMs: number;
  drainTimeoutMs: number;
  waitReady: boolean;
  listen: { label?: string; address: Address }[];
  logFormat: 'text' | 'json';
}

const register = fileURLToPath(new URL('../register.js', import.meta.url));

export async function run(o: RunOptions): Promise<void> {
  configureLog({ format: o.logFormat });
  const cwd = logicalCwd();
  const inherited = inherit(readListenEnv(process.env, process.pid, process.ppid));
  for (const key of [...LISTEN_VARS, ENV.parentPid]) delete process.env[key];

  let master: Master | undefined;
  let control: { close(): Promise<void> } | undefined;
  const exit = (code: number): void => {
    void (control?.close() ?? Promise.resolve()).finally(() => process.exit(code));
  };
  master = new Master({
    name: o.name,
    workers: o.workers,
    script: o.script,
    args: o.args,
    nodeArgs: o.nodeArgs,
    execPath: process.execPath,
    register,
    cwd,
    env: { ...process.env },
    waitReady: o.waitReady,
    readyTimeoutMs: o.readyTimeoutMs,
    drainTimeoutMs: o.drainTimeoutMs,
    logFormat: o.logFormat,
    listen: o.listen,
    inherited,
  }, exit);
  control = await startControlServer(o.controlPath, master);
  try {
    master.start();
  } catch (err) {
    await control.close();
    throw err;
  }
  log('info', 'control socket ready', { control: o.controlPath, pid: process.pid });
  if (process.pid === 1) {
    // Node reaps only the children it spawned; orphans re-parented to PID 1 would stay zombies.
    log('info', 'running as PID 1: baton reaps its workers, but not processes the app orphans; if the app starts processes of its own, run the container with an init (docker run --init)');
  }

  const reload = (signal: string): void => {
    log('info', `${signal}: reload requested`);
    void master!.reload();
  };
  process.on('SIGHUP', () => reload('SIGHUP'));
  process.on('SIGUSR2', () => reload('SIGUSR2'));
  let interrupts = 0;
  process.on('SIGTERM', () => master!.stop());
  process.on('SIGINT', () => {
    if (++interrupts > 1) {
      log('warn', 'second SIGINT: stopping at once');
      master!.kill();
    } else {
      master!.stop();
    }
  });
}
