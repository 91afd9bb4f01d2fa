/**
 * The master's part in moving idle connections at a reload: a draining worker
 * hands one over, and it goes on, unread, to a ready worker of the newest
 * generation that listens on its address (in turn); a worker receives only
 * connections for a socket it listens on. The sender is told whether a
 * server there took it: it keeps its own copy, unread, until then, and serves
 * the connection on if none did. The master closes its copy either way.
 */
import type { Child } from '../generation/parent.js';
import type { NativeHandle } from '../internals/handles.js';

export type Receiver = Pick<Child, 'state' | 'generation' | 'listening' | 'exited' | 'handOver' | 'send'>;

export class Handoff {
  private readonly workers = new Set<Receiver>();
  private turn = 0;

  /** Every worker the master starts, until it exits. */
  add<W extends Receiver>(worker: W): W {
    this.workers.add(worker);
    void worker.exited.then(() => this.workers.delete(worker));
    return worker;
  }

  forward(from: Receiver, id: number, address: string, handle: NativeHandle): void {
    const ready = [...this.workers].filter((w) => w !== from && w.state === 'ready' && w.listening.includes(address));
    const newest = Math.max(...ready.map((w) => w.generation));
    const receivers = ready.filter((w) => w.generation === newest);
    const to = receivers[this.turn++ % Math.max(1, receivers.length)];
    void (to?.handOver(address, handle) ?? Promise.resolve(false)).then((taken) => {
      handle.close();
      from.send({ type: 'connection-taken', id, taken });
    });
  }
}
