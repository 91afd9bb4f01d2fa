/**
 * A master's worker beats every HEARTBEAT_MS: a frozen worker (stopped, or
 * its event loop stuck) falls silent, which the master can see, where its
 * state alone would still say ready. Each beat says how late its timer ran
 * (the event loop's delay) and how many connections are open, so `baton
 * status` shows both, for a draining worker too, with its CPU time and, when
 * they are counted, its requests since the last beat. One timer a second, off
 * the request path; unref'd, so it never keeps a process alive.
 */
import { HEARTBEAT_MS } from '../protocol/messages.js';
import type { RequestCounts } from '../protocol/requests.js';
import type { ParentEndpoint } from '../generation/endpoint.js';

export function startHeartbeat(
  endpoint: ParentEndpoint,
  connections: () => number,
  requests: (() => RequestCounts) | undefined,
): void {
  let due = Date.now() + HEARTBEAT_MS;
  const beat = (): void => {
    const now = Date.now();
    const cpu = process.cpuUsage();
    endpoint.send({
      type: 'heartbeat',
      pid: process.pid,
      delayMs: Math.max(0, now - due),
      connections: connections(),
      cpuMs: Math.round((cpu.user + cpu.system) / 1000),
      ...(requests ? { requests: requests() } : {}),
    });
    due = now + HEARTBEAT_MS;
    setTimeout(beat, HEARTBEAT_MS).unref();
  };
  setTimeout(beat, HEARTBEAT_MS).unref();
}
