// A plain node:http app that takes START_DELAY_MS (default 500) to start listening; it knows nothing of baton.
import http from 'node:http';

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST;
const delay = Number(process.env.DELAY_MS ?? 0);
const startDelay = Number(process.env.START_DELAY_MS ?? 500);

const server = http.createServer((req, res) => {
  const wait = Number(new URL(req.url, 'http://x').searchParams.get('delay') ?? delay);
  setTimeout(() => res.end(`${process.pid}\n`), wait);
});
setTimeout(() => {
  server.listen(port, host, () => console.log(`listening on ${host ?? '*'}:${port} pid ${process.pid}`));
}, startDelay);
