/**
 * A supervised worker's side of the IPC channel to its master: sockets for
 * addresses it did not inherit, and the order to drain. If the channel closes
 * the master is gone, and the worker drains and exits rather than be orphaned.
 */
import os from 'node:os';
import util from 'node:util';
import { type Message, isBatonMessage, message, parseMessage } from '../protocol/messages.js';
import { log } from '../log.js';
import { type Address, nameOf, parseName } from '../listeners/address.js';
import type { NativeHandle } from '../listeners/native.js';

export type Acquired = { handle: NativeHandle; address: Address } | { error: NodeJS.ErrnoException };

export class MasterLink {
  private nextId = 0;
  private readonly pending = new Map<number, { address: Address; resolve: (r: Acquired) => void }>();

  constructor(private readonly onDrain: (reason: 'upgrade' | 'stop') => void, onOrphaned: () => void) {
    process.on('message', (raw: unknown, handle: unknown) => this.receive(raw, handle));
    process.once('disconnect', onOrphaned);
    // Our listener must not keep an app alive that would otherwise exit.
    process.channel?.unref();
  }

  send(body: Parameters<typeof message>[0]): void {
    if (!process.connected) return;
    try {
      process.send!(message(body));
    } catch {
      // The master is gone; 'disconnect' handles that.
    }
  }

  /** Asks the master for the socket at `address`, binding it there if nobody has yet. */
  acquire(address: Address): Promise<Acquired> {
    const id = this.nextId++;
    // While the answer is pending it is all that keeps the process alive.
    process.channel?.ref();
    return new Promise((resolve) => {
      this.pending.set(id, { address, resolve });
      this.send({ type: 'listen', id, address: nameOf(address) });
    });
  }

  private receive(raw: unknown, handle: unknown): void {
    if (!isBatonMessage(raw)) return;
    const parsed = parseMessage(raw);
    if (!parsed.ok) {
      log('warn', 'ignored a malformed message from the master', { reason: parsed.reason });
      return;
    }
    this.handle(parsed.message, handle as NativeHandle | undefined);
  }

  private handle(m: Message, handle: NativeHandle | undefined): void {
    if (m.type === 'drain') {
      this.onDrain(m.reason);
    } else if (m.type === 'listen-result') {
      const waiting = this.pending.get(m.id);
      if (!waiting) {
        handle?.close();
        return;
      }
      this.pending.delete(m.id);
      if (this.pending.size === 0) process.channel?.unref();
      const bound = m.name ? parseName(m.name) : undefined;
      if (handle && bound) waiting.resolve({ handle, address: bound });
      else waiting.resolve({ error: listenError(m.code ?? 'EINVAL', waiting.address) });
    }
  }
}

/** The error Node itself gives for a failed listen, so apps that check err.code see what they expect. */
export function listenError(code: string, address: Address): NodeJS.ErrnoException {
  const errno = -(os.constants.errno as Record<string, number>)[code] || -22;
  const description = util.getSystemErrorMap().get(errno)?.[1] ?? code;
  const where = address.kind === 'unix' ? address.path : `${address.host ?? '::'}:${address.port}`;
  const err = new Error(`listen ${code}: ${description} ${where}`) as NodeJS.ErrnoException & { address?: string; port?: number };
  err.code = code;
  err.errno = errno;
  err.syscall = 'listen';
  err.address = address.kind === 'unix' ? address.path : address.host ?? '::';
  if (address.kind === 'tcp') err.port = address.port;
  return err;
}
