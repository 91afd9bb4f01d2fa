// A Hono app on @hono/node-server, unmodified: serve() is node:http underneath.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST;
const delay = Number(process.env.DELAY_MS ?? 0);

const app = new Hono();
app.get('/', async (c) => {
  await new Promise((resolve) => setTimeout(resolve, Number(c.req.query('delay') ?? delay)));
  return c.text(`${process.pid}\n`);
});
serve({ fetch: app.fetch, port, hostname: host }, () =>
  console.log(`listening on ${host ?? '*'}:${port} pid ${process.pid}`),
);
