/**
 * Connections sent over one channel, each waiting for the peer's word that
 * a server there took it (ConnectionTakenMessage, with the id it came with).
 * The sender keeps its own copy, unread, until then: not taken, it serves the
 * connection on itself.
 */
import type { NativeHandle } from '../internals/handles.js';
import type { Channel } from './channel.js';

export class Handing {
  private nextId = 0;
  private readonly waiting = new Map<number, (taken: boolean) => void>();

  /** Resolves with the peer's answer; false if the message could not be written, or the peer goes first. */
  send(channel: Channel, address: string, handle: NativeHandle): Promise<boolean> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      void channel
        .sendHandle({ type: 'connection', id, address }, handle)
        .then((sent) => sent || this.answer(id, false));
    });
  }

  answer(id: number, taken: boolean): void {
    this.waiting.get(id)?.(taken);
    this.waiting.delete(id);
  }

  /** The peer is gone: nothing more will be taken. */
  end(): void {
    for (const id of [...this.waiting.keys()]) this.answer(id, false);
  }
}
