// A WebSocket app (ws) that uses baton's API to close its clients with 1012
// "service restart" when it hands over, so they reconnect to the successor.
import http from 'node:http';
import { WebSocketServer } from 'ws';
import { onShutdown } from 'baton';

const port = Number(process.env.PORT ?? 8080);
const server = http.createServer((req, res) => res.end(`${process.pid}\n`));
const wss = new WebSocketServer({ server });
wss.on('connection', (ws) => {
  ws.send(String(process.pid));
  ws.on('message', (m) => ws.send(`${process.pid}:${m}`));
});
onShutdown(({ reason }) => {
  for (const ws of wss.clients) ws.close(reason === 'upgrade' ? 1012 : 1001, reason === 'upgrade' ? 'service restart' : 'going away');
});
server.listen(port, process.env.HOST, () => console.log(`websocket app on ${port} pid ${process.pid}`));
