/**
 * One end of the IPC channel between a parent and the child it started (a
 * master and its worker, a standalone process and its successor): messages go
 * out stamped with the protocol version, and come in validated. A malformed
 * one is logged and ignored; an app's own process.send() traffic passes by.
 */
import type { ChildProcess } from 'node:child_process';
import { type Message, isBatonMessage, message, parseMessage } from '../protocol/messages.js';
import type { NativeHandle } from '../internals/handles.js';
import { log } from '../log.js';

type Port = ChildProcess | NodeJS.Process;
export type Body = Parameters<typeof message>[0];
export type OnMessage = (m: Message, handle: NativeHandle | undefined) => void;

export class Channel {
  /** `peer` names the other end in log lines: 'the master', 'worker pid 42'. */
  constructor(
    private readonly port: Port,
    private readonly peer: string,
    onMessage: OnMessage,
  ) {
    port.on('message', (raw: unknown, handle: unknown) => {
      if (!isBatonMessage(raw)) return;
      const parsed = parseMessage(raw);
      if (parsed.ok) onMessage(parsed.message, handle as NativeHandle | undefined);
      else log('warn', `ignored a malformed message from ${peer}`, { reason: parsed.reason });
    });
  }

  get connected(): boolean {
    return this.port.connected === true;
  }

  /**
   * False when the peer is gone (the message is dropped, as there is nobody to
   * read it). `sent` is called once the message is written (true), or lost.
   */
  send(body: Body, handle?: { fd: number }, sent: (written: boolean) => void = () => {}): boolean {
    if (!this.connected || typeof this.port.send !== 'function') return false;
    const lost = (err: Error | null): void => {
      if (err) log('warn', `a message to ${this.peer} was lost`, { type: body.type, error: err.message });
      sent(!err);
    };
    try {
      (this.port.send as (m: unknown, h: unknown, cb: (err: Error | null) => void) => boolean)(
        message(body),
        handle,
        lost,
      );
      return true;
    } catch (err) {
      lost(err as Error);
      return false;
    }
  }

  /**
   * Resolves true once `body` and `handle` are written: the peer's copy of the
   * socket exists from then on, so this process may close its own (Node
   * leaves a raw handle's sender its copy); false if they were not.
   */
  sendHandle(body: Body, handle: { fd: number }): Promise<boolean> {
    return new Promise((resolve) => {
      if (!this.send(body, handle, resolve)) resolve(false);
    });
  }
}
