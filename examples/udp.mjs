// A node:dgram server: answers each datagram with its text, a space and "<pid>"; it knows nothing of baton.
import dgram from 'node:dgram';

const port = Number(process.env.PORT ?? 9053);
const host = process.env.HOST;

const socket = dgram.createSocket('udp4', (msg, from) => {
  socket.send(`${msg} ${process.pid}`, from.port, from.address);
});
socket.bind(port, host, () => console.log(`udp bound on ${host ?? '0.0.0.0'}:${port} pid ${process.pid}`));
