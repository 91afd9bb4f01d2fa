// A broken release: throws at start, before it ever listens (for rollback tests).
import http from 'node:http';

const server = http.createServer((req, res) => res.end(`${process.pid}\n`));
throw new Error('release is broken: missing config');
// biome-ignore lint/correctness/noUnreachable: the release is broken on purpose; this is the listen it never reaches
server.listen(Number(process.env.PORT ?? 8080), process.env.HOST);
