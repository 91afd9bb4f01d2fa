// A Koa 3 app, unmodified: app.listen() is node:http underneath.
import Koa from 'koa';

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST;
const delay = Number(process.env.DELAY_MS ?? 0);

const app = new Koa();
app.use(async (ctx) => {
  await new Promise((resolve) => setTimeout(resolve, Number(ctx.query.delay ?? delay)));
  ctx.body = `${process.pid}\n`;
});
app.listen(port, host, () => console.log(`listening on ${host ?? '*'}:${port} pid ${process.pid}`));
