/**
 * WebSockets at the drain. Left alone, a WebSocket outlives every drain and is
 * cut at the deadline (clients see 1006, and the reload waits the whole drain
 * timeout). So as the drain starts each one is told 1012 "service restart"
 * (1001 "going away" at a stop), and its client reconnects to the next
 * generation (RFC 6455 §7.4.1).
 *
 * Only a connection that really is a WebSocket is told: its request asked for
 * `Upgrade: websocket` and its first bytes out were the 101 answer. The close
 * goes through the library that owns the connection where baton can find it
 * (ws, which socket.io, Fastify and Next.js build on): the library queues the
 * close behind the frames it is writing, answers the client's close and ends
 * the connection. Otherwise baton writes the close frame itself, when the
 * socket has nothing of the app's left to write (a frame streamed in pieces
 * waits for 'drain' between them), and ends the connection after a grace for
 * the client's answer, as the server should (§7.1.1).
 */
import type http from 'node:http';
import type net from 'node:net';
import type { DrainReason } from '../protocol/messages.js';

export interface CloseFrame {
  code: number;
  reason: string;
}

export function closeFrameFor(reason: DrainReason): CloseFrame {
  return reason === 'upgrade' ? { code: 1012, reason: 'service restart' } : { code: 1001, reason: 'going away' };
}

/** How long a client has to answer baton's own close frame before the connection is ended. */
const CLOSE_GRACE_MS = 1000;
/** WebSocket#readyState of an open connection, in ws as in the WHATWG API. */
const OPEN = 1;

const kOpened = Symbol('baton.websocket');

interface Marked extends net.Socket {
  [kOpened]?: boolean;
}

/**
 * Watches a connection upgraded for `req` for the 101 that makes it a
 * WebSocket; `onOpen` runs once the app's library has taken it over. Only the
 * first write is looked at: the answer to the upgrade request.
 */
export function watchHandshake(req: http.IncomingMessage, socket: net.Socket, onOpen: () => void): void {
  if (String(req.headers.upgrade).trim().toLowerCase() !== 'websocket') return;
  const s = socket as Marked;
  const write = s.write;
  s.write = function (this: net.Socket, chunk: unknown, ...rest: unknown[]): boolean {
    s.write = write;
    if (isSwitchingProtocols(chunk)) {
      s[kOpened] = true;
      // ws writes the 101 and then attaches itself, in the same tick.
      setImmediate(onOpen);
    }
    return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
  } as typeof s.write;
}

function isSwitchingProtocols(chunk: unknown): boolean {
  const head =
    typeof chunk === 'string'
      ? chunk.slice(0, 12)
      : chunk instanceof Uint8Array
        ? Buffer.from(chunk.subarray(0, 12)).toString('latin1')
        : '';
  return head === 'HTTP/1.1 101';
}

/** Tells a WebSocket client to reconnect; anything that is not an open WebSocket is left alone. */
export function closeWebSocket(socket: net.Socket, frame: CloseFrame): void {
  if (!(socket as Marked)[kOpened] || socket.destroyed || socket.writableEnded) return;
  const library = libraryOf(socket);
  if (library) {
    // A connection the library is already closing is the library's to finish.
    if (library.readyState === OPEN) library.close(frame.code, frame.reason);
    return;
  }
  whenNothingPending(socket, () => {
    socket.write(closeFrameBytes(frame));
    // The app's library does not know the connection is closing: its writes after the end must not throw.
    socket.on('error', () => {});
    setTimeout(() => socket.destroyed || socket.end(), CLOSE_GRACE_MS).unref();
  });
}

interface WebSocketLike {
  readyState: number;
  close(code: number, reason: string): void;
}

/** ws keeps its WebSocket on the socket, under a symbol of its own described 'websocket'. */
function libraryOf(socket: net.Socket): WebSocketLike | undefined {
  for (const key of Object.getOwnPropertySymbols(socket)) {
    if (key.description !== 'websocket') continue;
    const ws = (socket as unknown as Record<symbol, Partial<WebSocketLike> | undefined>)[key];
    if (typeof ws?.close === 'function' && typeof ws.readyState === 'number') return ws as WebSocketLike;
  }
  return undefined;
}

function whenNothingPending(socket: net.Socket, write: () => void): void {
  if (socket.destroyed || socket.writableEnded) return;
  if (socket.writableLength === 0) write();
  else socket.once('drain', () => whenNothingPending(socket, write));
}

/** RFC 6455 §5.5.1: FIN and opcode 8, unmasked from a server, the code then the reason (short: one length byte). */
function closeFrameBytes({ code, reason }: CloseFrame): Buffer {
  const text = Buffer.from(reason);
  const frame = Buffer.alloc(4 + text.length);
  frame[0] = 0x88;
  frame[1] = 2 + text.length;
  frame.writeUInt16BE(code, 2);
  text.copy(frame, 4);
  return frame;
}
