// The bench's heavy app: NestJS (Express platform) with generated feature
// modules (generate.mjs: 40 modules, 200 routes, 80 injected providers), so
// that it takes hundreds of ms to start, as real apps do. Listens on PORT
// (HOST, else 127.0.0.1) and behaves as bench/app.mjs does: GET / answers the
// pid after DELAY_MS, `process.send('ready')` after listening, `listening` on
// stdout with SAY_LISTENING.
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';

// Made by generate.mjs, not kept in the repository: named in a variable, so the
// type checker does not look for a file that is not there yet.
const generated = './generated/app.module.mjs';
const { AppModule } = await import(generated).catch((err) => {
  throw new Error(
    `the heavy app's modules are not generated (${err.code ?? err.message}): run node bench/apps/heavy/generate.mjs`,
  );
});
const app = await NestFactory.create(AppModule, { logger: false });
await app.listen(Number(process.env.PORT ?? 8080), process.env.HOST ?? '127.0.0.1');
process.send?.('ready');
if (process.env.SAY_LISTENING) console.log('listening');
