import net from 'node:net';

/**
 * Stops accepting by closing this process's listening handle only. The socket
 * stays open in the next generation, so connections waiting in its queue are
 * served there. net.Server#close is called directly: http.Server#close would
 * also destroy idle keep-alive connections at once, which resets the clients
 * whose next request is already on the wire.
 */
export function stopAccepting(server: net.Server): void {
  if (server.listening) net.Server.prototype.close.call(server);
}
