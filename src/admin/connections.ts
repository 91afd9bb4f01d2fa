/**
 * What one client can hold of the admin listener: a few connections at once,
 * whatever it sends on them, so that one client (a leak, a scanner, an
 * attacker) can never take the slots the orchestrator's probes need. A
 * connection over either limit is closed as it is accepted, before a byte is
 * read; counted here rather than by server.maxConnections, so that sockets
 * being closed never count against the others.
 */
import type net from 'node:net';
import { clientOf } from './client.js';

/** Connections one client (an IPv4 address, an IPv6 /64) holds at once: a browser's page, a scraper, probes. */
export const MAX_PER_CLIENT = 8;
/** Connections held at once by all clients. */
const MAX_CONNECTIONS = 128;

export function limitConnections(server: net.Server): void {
  const held = new Map<string, number>();
  let total = 0;
  server.on('connection', (socket: net.Socket) => {
    const client = clientOf(socket.remoteAddress);
    const mine = held.get(client) ?? 0;
    if (mine >= MAX_PER_CLIENT || total >= MAX_CONNECTIONS) {
      socket.destroy();
      return;
    }
    held.set(client, mine + 1);
    total += 1;
    socket.once('close', () => {
      total -= 1;
      const left = (held.get(client) ?? 1) - 1;
      if (left === 0) held.delete(client);
      else held.set(client, left);
    });
  });
}
