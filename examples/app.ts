// A TypeScript app, run through tsx, unmodified: node:http with types.
import http from 'node:http';

const port: number = Number(process.env.PORT ?? 8080);
const host: string | undefined = process.env.HOST;
const delay: number = Number(process.env.DELAY_MS ?? 0);

function answer(req: http.IncomingMessage, res: http.ServerResponse): void {
  const wait = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('delay') ?? delay);
  setTimeout(() => res.end(`${process.pid}\n`), wait);
}

http
  .createServer(answer)
  .listen(port, host, () => console.log(`listening on ${host ?? '*'}:${port} pid ${process.pid}`));
