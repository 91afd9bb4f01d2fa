// A broken release: throws at start, before it ever listens (for rollback tests).
import http from 'node:http';

const server = http.createServer((req, res) => res.end(`${process.pid}\n`));
throw new Error('release is broken: missing config');
server.listen(Number(process.env.PORT ?? 8080), process.env.HOST); // never reached
