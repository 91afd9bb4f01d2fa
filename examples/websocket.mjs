// A WebSocket app (ws), unmodified. Each client is sent the pid that serves it.
// When a generation drains, baton tells its clients 1012 "service restart", so
// they reconnect to the next one.
import http from 'node:http';
import { WebSocketServer } from 'ws';

const port = Number(process.env.PORT ?? 8080);
const server = http.createServer((req, res) => res.end(`${process.pid}\n`));
const wss = new WebSocketServer({ server });
wss.on('connection', (ws) => {
  ws.send(String(process.pid));
  ws.on('message', (m) => ws.send(`${process.pid}:${m}`));
});
server.listen(port, process.env.HOST, () => console.log(`websocket app on ${port} pid ${process.pid}`));
