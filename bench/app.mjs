// The benchmark's tiny app, the same for every row: node:http on PORT
// (127.0.0.1 unless HOST), answers each request with its pid after DELAY_MS ms
// (a timer even at 0, so requests are in flight at every restart). After
// listening it tells a PM2-style parent it is ready (`wait_ready`); baton
// accepts that convention too, and bare node has no IPC channel to send on.
import http from 'node:http';

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';
const delay = Number(process.env.DELAY_MS ?? 0);
const body = `${process.pid}\n`;

const server = http.createServer((req, res) => {
  setTimeout(() => {
    res.setHeader('content-type', 'text/plain');
    res.end(body);
  }, delay);
});
server.listen(port, host, () => {
  process.send?.('ready');
  // The preload's start-up row times the start to here (bench/targets.mjs).
  if (process.env.SAY_LISTENING) console.log('listening');
});
