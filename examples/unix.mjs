// A plain node:http app on a unix socket (env SOCKET), unmodified: it knows nothing of baton.
import http from 'node:http';

const socket = process.env.SOCKET;
if (!socket) {
  console.error('unix.mjs: set SOCKET to the unix socket path to listen on');
  process.exit(1);
}
const delay = Number(process.env.DELAY_MS ?? 0);

const server = http.createServer((req, res) => {
  const wait = Number(new URL(req.url, 'http://x').searchParams.get('delay') ?? delay);
  setTimeout(() => res.end(`${process.pid}\n`), wait);
});
server.listen(socket, () => console.log(`listening on ${socket} pid ${process.pid}`));
