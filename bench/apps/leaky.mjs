// bench/app.mjs with a leak: every request keeps LEAK_KB KiB (filled, so
// that it counts in RSS) for as long as the process lives, as a cache that
// is never evicted does. For the soak of --max-memory (bench/leak-soak.mjs).
import http from 'node:http';

const port = Number(process.env.PORT ?? 8080);
const kept = [];
const size = Number(process.env.LEAK_KB ?? 32) * 1024;
const body = `${process.pid}\n`;

http
  .createServer((req, res) => {
    kept.push(Buffer.alloc(size, 1));
    res.setHeader('content-type', 'text/plain');
    res.end(body);
  })
  .listen(port, '127.0.0.1', () => process.send?.('ready'));
