// A NOTIFY_SOCKET made by the test, as systemd makes one: a unix datagram
// socket, bound by python3 (Node has no unix datagram sockets), which prints
// each datagram as a JSON line with the time it arrived (CLOCK_MONOTONIC, in
// µs, the clock of MONOTONIC_USEC) and the sender's pid from its credentials.
import { spawn } from 'node:child_process';
import { tool, within } from './proc.mjs';

// The ancillary buffer has room for the credentials only: the pipe fd that
// systemd-notify's barrier (BARRIER=1) passes is closed by the kernel on
// receipt, which releases systemd-notify at once, as systemd does by closing it.
const RECEIVER = `
import json, socket, struct, sys, time
name = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind('\\0' + name[1:] if name.startswith('@') else name)
print(json.dumps({'listening': name}), flush=True)
while True:
    data, anc, _, _ = s.recvmsg(65536, socket.CMSG_SPACE(12))
    pid = next((struct.unpack('iII', d[:12])[0] for level, kind, d in anc
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS), None)
    print(json.dumps({'at': time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000, 'pid': pid, 'text': data.decode()}), flush=True)
`;

const WAIT_MS = 20_000;

/**
 * Binds `address` (a path, or `@name` in the abstract namespace) and collects
 * what arrives in `messages`: { at, pid, text, fields } with `fields` the
 * datagram's VAR=VALUE lines as an object. BARRIER=1, systemd-notify's own
 * synchronisation, is left out. Stopped when the test ends.
 * @typedef {{ at: number, pid: number | null, text: string, fields: Record<string, string> }} NotifyMessage
 * @typedef {{ address: string, messages: NotifyMessage[], watchers: Set<() => void> }} NotifySocket
 * @param {import('node:test').TestContext} t
 * @param {string} address
 * @returns {Promise<NotifySocket>}
 */
export async function notifySocket(t, address) {
  const child = spawn(tool('python3'), ['-c', RECEIVER, address], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.once('close', resolve));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  });
  /** @type {NotifySocket} */
  const sock = { address, messages: [], watchers: new Set() };
  /** @type {() => void} */
  let listening;
  const bound = /** @type {Promise<void>} */ (new Promise((resolve) => (listening = resolve)));
  let partial = '';
  child.stdout.setEncoding('utf8').on('data', (d) => {
    const lines = (partial + d).split('\n');
    partial = lines.pop();
    for (const line of lines) {
      const o = JSON.parse(line);
      if (o.listening) listening();
      else if (o.text !== 'BARRIER=1') {
        sock.messages.push({
          ...o,
          fields: Object.fromEntries(
            o.text.split('\n').map((f) => [f.slice(0, f.indexOf('=')), f.slice(f.indexOf('=') + 1)]),
          ),
        });
        for (const w of [...sock.watchers]) w();
      }
    }
  });
  await within(
    Promise.race([
      bound,
      exited.then((code) => {
        throw new Error(`the python3 receiver exited (${code}) before binding ${address}`);
      }),
    ]),
    WAIT_MS,
    `python3 to bind ${address}`,
  );
  return sock;
}

/**
 * The first `count` messages, once they have arrived; a timeout names what did arrive.
 * @param {NotifySocket} sock
 * @param {number} count
 * @returns {Promise<NotifyMessage[]>}
 */
export function received(sock, count, what = `${count} notify messages`) {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (sock.messages.length < count) return;
      end();
      resolve(sock.messages.slice(0, count));
    };
    const timer = setTimeout(() => {
      end();
      reject(
        new Error(
          `timed out after ${WAIT_MS} ms waiting for ${what}; got ${JSON.stringify(sock.messages.map((m) => m.text))}`,
        ),
      );
    }, WAIT_MS);
    const end = () => {
      clearTimeout(timer);
      sock.watchers.delete(check);
    };
    sock.watchers.add(check);
    check();
  });
}
