// A socket.io app, unmodified: each `msg` is acknowledged with the id it
// carried and the pid that got it. Under baton run -w N (N > 1) its clients
// must connect with transports: ['websocket']: the polling transport needs
// sticky sessions, which baton has no proxy to give. RECEIPTS=file appends
// each message's id to the file (the test counts them).
import fs from 'node:fs';
import http from 'node:http';
import { Server } from 'socket.io';

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST;
const receipts = process.env.RECEIPTS;

const server = http.createServer((req, res) => res.end(`${process.pid}\n`));
const io = new Server(server);
io.on('connection', (socket) => {
  socket.on('msg', (id, ack) => {
    if (receipts) fs.appendFileSync(receipts, `${id}\n`);
    ack({ id, pid: process.pid });
  });
});
server.listen(port, host, () => console.log(`listening on ${host ?? '*'}:${port} pid ${process.pid}`));
