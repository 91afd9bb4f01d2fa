/**
 * The child side of a generation, for a master's worker and a standalone
 * successor alike: the one endpoint of the channel to the process that started
 * it. It says `ready`, or `failed` with the stderr tail if the process dies
 * first; it asks a master for sockets; and it takes the orders that come back
 * (drain by a deadline).
 */
import type { ReloadCounters, ReloadRecord } from '../protocol/control.js';
import type { DrainReason } from '../protocol/messages.js';
import { type Address, nameOf, parseName } from '../listeners/address.js';
import { builtin } from '../internals/builtins.js';
import type { NativeHandle } from '../internals/handles.js';
import { errorLine } from '../log.js';
import { type Body, Channel } from './channel.js';
import { Handing } from './handing.js';
import { addFatal, captureStderr, stderrTail, stopCapture } from './stderr-tail.js';

/** How long a process about to exit waits for its last message to be written. */
const LAST_WORD_MS = 1000;

export type Acquired = { handle: NativeHandle; address: Address } | { error: NodeJS.ErrnoException };

export interface Orders {
  drain(reason: DrainReason, deadline: number): void;
  /** The upgrades before this process took over, that one last, and their counters. */
  history(reloads: ReloadRecord[], counters: ReloadCounters): void;
  /** The parent is gone. */
  disconnect(): void;
  /**
   * An idle connection handed over (by a predecessor, or the master from an old worker), for the server on `address`:
   * whether one took it.
   */
  connection(address: string, handle: NativeHandle): boolean;
}

export class ParentEndpoint {
  private readonly channel: Channel;
  private nextId = 0;
  private readonly pending = new Map<number, { address: Address; resolve: (r: Acquired) => void }>();
  /** Connections handed to the master, waiting for its word that a worker of the serving generation took them. */
  private readonly handing = new Handing();
  private drainOrdered = false;
  private fatal: string | undefined;

  /**
   * Dying unordered is reported as `failed`, with the error and the tail of
   * stderr, which is kept from now until `crashWindowMs` after ready(): the
   * parent rolls back on an exit before then, and says why.
   */
  constructor(
    peer: string,
    private readonly crashWindowMs: number,
    orders: Orders,
  ) {
    captureStderr();
    process.on('uncaughtExceptionMonitor', (err) => {
      this.noteFatal(errorLine(err));
      // Node prints it from C++, past process.stderr and so past the capture; as Node does, with its cause and fields.
      addFatal(`${builtin('util').inspect(err)}\n`);
    });
    process.on('exit', () => {
      if (!this.drainOrdered)
        this.send({ type: 'failed', pid: process.pid, error: this.fatal ?? '', stderrTail: stderrTail() });
    });
    this.channel = new Channel(process, peer, (m, handle) => {
      if (m.type === 'drain') {
        this.drainOrdered = true;
        orders.drain(m.reason, m.deadline);
      } else if (m.type === 'history') orders.history(m.reloads, m.counters);
      else if (m.type === 'listen-result') this.settle(m.id, m.name, m.code, handle);
      else if (m.type === 'connection' && handle)
        this.send({ type: 'connection-taken', id: m.id, taken: orders.connection(m.address, handle) });
      else if (m.type === 'connection-taken') this.handing.answer(m.id, m.taken);
    });
    process.once('disconnect', () => {
      this.handing.end();
      orders.disconnect();
    });
    // The channel must not keep alive an app that would otherwise exit.
    process.channel?.unref();
  }

  send(body: Body): void {
    this.channel.send(body);
  }

  /**
   * An idle connection on `address` to the master, for a worker of the
   * serving generation: resolves true once one holds it, false when none
   * took it (or the master is gone), and this process keeps it.
   */
  handOver(address: string, handle: NativeHandle): Promise<boolean> {
    return this.handing.send(this.channel, address, handle);
  }

  /**
   * Sends `body` and resolves once it is written: a process about to exit
   * waits for its last word, but not for a parent that has stopped reading.
   */
  sendLast(body: Body): Promise<void> {
    return new Promise((resolve) => {
      setTimeout(resolve, LAST_WORD_MS).unref();
      if (!this.channel.send(body, undefined, () => resolve())) resolve();
    });
  }

  /** Why the process is about to die, if it knows better than its exit code. */
  noteFatal(error: string): void {
    this.fatal ??= error;
  }

  ready(listening: string[]): void {
    setTimeout(stopCapture, this.crashWindowMs).unref();
    this.send({ type: 'ready', pid: process.pid, listening });
  }

  /** Where it listens since ready, and whether that is settled (see ListeningMessage). */
  listening(listening: string[], settled: boolean): void {
    this.send({ type: 'listening', pid: process.pid, listening, settled });
  }

  /** Asks the master for the socket at `address`, bound there if nobody has yet. */
  acquire(address: Address): Promise<Acquired> {
    const id = this.nextId++;
    // While the answer is pending it is all that keeps the process alive.
    process.channel?.ref();
    return new Promise((resolve) => {
      this.pending.set(id, { address, resolve });
      this.send({ type: 'listen', id, address: nameOf(address) });
    });
  }

  private settle(
    id: number,
    name: string | undefined,
    code: string | undefined,
    handle: NativeHandle | undefined,
  ): void {
    const waiting = this.pending.get(id);
    if (!waiting) {
      handle?.close();
      return;
    }
    this.pending.delete(id);
    if (this.pending.size === 0) process.channel?.unref();
    const bound = name ? parseName(name) : undefined;
    if (handle && bound) waiting.resolve({ handle, address: bound });
    else waiting.resolve({ error: listenError(code ?? 'EINVAL', waiting.address) });
  }
}

/** The error Node itself gives for a failed listen, so apps that check err.code see what they expect. */
function listenError(code: string, address: Address): NodeJS.ErrnoException {
  const errno = -(builtin('os').constants.errno as Record<string, number>)[code] || -22;
  const description = builtin('util').getSystemErrorMap().get(errno)?.[1] ?? code;
  const where = address.kind === 'unix' ? address.path : `${address.host ?? '::'}:${address.port}`;
  const syscall = address.kind === 'udp' ? 'bind' : 'listen';
  const err = new Error(`${syscall} ${code}: ${description} ${where}`) as NodeJS.ErrnoException & {
    address?: string;
    port?: number;
  };
  err.code = code;
  err.errno = errno;
  err.syscall = syscall;
  err.address = address.kind === 'unix' ? address.path : (address.host ?? '::');
  if (address.kind !== 'unix') err.port = address.port;
  return err;
}
