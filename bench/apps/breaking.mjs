// The bench's tiny app (bench/app.mjs: its pid after DELAY_MS) as a release
// that breaks once deployed: a worker that starts while the file BREAK_FILE
// names exists answers 500 to every request, as a release that cannot reach
// its database does.
import fs from 'node:fs';
import http from 'node:http';

const status = process.env.BREAK_FILE && fs.existsSync(process.env.BREAK_FILE) ? 500 : 200;
const delay = Number(process.env.DELAY_MS ?? 0);
const body = `${process.pid}\n`;

http
  .createServer((req, res) => {
    setTimeout(() => {
      res.statusCode = status;
      res.end(body);
    }, delay);
  })
  .listen(Number(process.env.PORT ?? 8080), process.env.HOST ?? '127.0.0.1', () => process.send?.('ready'));
