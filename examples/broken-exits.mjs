// A broken release: reports an error and exits with code 3 before it ever listens (for rollback tests).
import http from 'node:http';

const server = http.createServer((req, res) => res.end(`${process.pid}\n`));
console.error('cannot connect to database');
process.exit(3);
server.listen(Number(process.env.PORT ?? 8080), process.env.HOST); // never reached
