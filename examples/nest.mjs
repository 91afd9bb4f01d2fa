// A NestJS app, unmodified, as its docs recommend it: enableShutdownHooks(),
// which also listens for SIGUSR2 and re-raises it once the app has closed.
// Plain ESM, so decorators are applied as the functions they are.
import 'reflect-metadata';
import { Controller, Get, Module, Query } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST;
const delay = Number(process.env.DELAY_MS ?? 0);

class AppController {
  pid(wait) {
    return new Promise((resolve) => setTimeout(() => resolve(`${process.pid}\n`), Number(wait ?? delay)));
  }
}
Controller()(AppController);
Get()(AppController.prototype, 'pid', Object.getOwnPropertyDescriptor(AppController.prototype, 'pid'));
Query('delay')(AppController.prototype, 'pid', 0);

class AppModule {}
Module({ controllers: [AppController] })(AppModule);

const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
app.enableShutdownHooks();
await app.listen(port, host);
console.log(`listening on ${host ?? '*'}:${port} pid ${process.pid}`);
