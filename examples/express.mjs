// An Express 5 app, unmodified: app.listen() is node:http underneath.
import express from 'express';

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST;
const delay = Number(process.env.DELAY_MS ?? 0);

const app = express();
app.get('/', (req, res) => {
  setTimeout(() => res.send(`${process.pid}\n`), Number(req.query.delay ?? delay));
});
app.listen(port, host, () => console.log(`listening on ${host ?? '*'}:${port} pid ${process.pid}`));
