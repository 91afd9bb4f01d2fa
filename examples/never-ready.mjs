// A hung release: keeps running but never listens, so it never becomes ready (for --ready-timeout tests).
// It installs no signal handler: stopping it is up to baton (or the default SIGTERM action).
import http from 'node:http';

http.createServer((req, res) => res.end(`${process.pid}\n`));
console.log(`never-ready started, pid ${process.pid}, will not listen`);
setInterval(() => {}, 1000);
