// A plain node:net line server: answers each line received with "<pid>\n"; it knows nothing of baton.
import net from 'node:net';
import readline from 'node:readline';

const port = Number(process.env.PORT ?? 9000);
const host = process.env.HOST;
const delay = Number(process.env.DELAY_MS ?? 0);

const server = net.createServer({ allowHalfOpen: true }, (socket) => {
  let pending = 0;
  let ended = false;
  const finish = () => ended && pending === 0 && socket.end(); // answer every line, then close
  socket.on('error', () => {});
  readline.createInterface({ input: socket, crlfDelay: Infinity }).on('line', () => {
    pending++;
    setTimeout(() => {
      socket.write(`${process.pid}\n`);
      pending--;
      finish();
    }, delay);
  });
  socket.on('end', () => {
    ended = true;
    finish();
  });
});
server.listen(port, host, () => console.log(`net listening on ${host ?? '*'}:${port} pid ${process.pid}`));
