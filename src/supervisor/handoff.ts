/**
 * The master's part in moving idle connections at a reload: a draining worker
 * hands one over, and it goes on, unread, to a ready worker of the newest
 * generation that listens on its address (in turn), or back to the worker
 * that sent it when none does, which then keeps it to its drain deadline. A
 * worker receives only connections for a socket it listens on. The master
 * closes its own copy once the receiver holds one.
 */
import type { Child } from '../generation/parent.js';
import type { NativeHandle } from '../internals/handles.js';

export type Receiver = Pick<Child, 'state' | 'generation' | 'listening' | 'exited' | 'handOver'>;

export class Handoff {
  private readonly workers = new Set<Receiver>();
  private turn = 0;

  /** Every worker the master starts, until it exits. */
  add<W extends Receiver>(worker: W): W {
    this.workers.add(worker);
    void worker.exited.then(() => this.workers.delete(worker));
    return worker;
  }

  forward(from: Receiver, address: string, handle: NativeHandle): void {
    const ready = [...this.workers].filter((w) => w !== from && w.state === 'ready' && w.listening.includes(address));
    const newest = Math.max(...ready.map((w) => w.generation));
    const receivers = ready.filter((w) => w.generation === newest);
    const to = receivers[this.turn++ % Math.max(1, receivers.length)] ?? from;
    void to.handOver(address, handle)
      .then((sent) => sent || (to !== from && from.handOver(address, handle)))
      .finally(() => handle.close());
  }
}
