// A Fastify 5 app, unmodified. With HOST=localhost (its common default)
// Fastify listens once per address the name resolves to (127.0.0.1 and ::1).
import Fastify from 'fastify';

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? 'localhost';
const delay = Number(process.env.DELAY_MS ?? 0);

const app = Fastify();
app.get('/', async (/** @type {import('fastify').FastifyRequest<{ Querystring: { delay?: string } }>} */ req) => {
  await new Promise((resolve) => setTimeout(resolve, Number(req.query.delay ?? delay)));
  return `${process.pid}\n`;
});
await app.listen({ port, host });
console.log(
  `listening on ${app
    .addresses()
    .map((/** @type {import('node:net').AddressInfo} */ a) => `${a.address}:${a.port}`)
    .join(', ')} pid ${process.pid}`,
);
