// GET /: the bench's request, as bench/app.mjs answers it: the pid, after
// DELAY_MS ms (a timer even at 0, so requests are in flight at every restart).
import { Controller, Get, Module } from '@nestjs/common';
import { route } from './shared.mjs';

const delay = Number(process.env.DELAY_MS ?? 0);
const body = `${process.pid}\n`;

export class RootController {
  index() {
    return new Promise((resolve) => setTimeout(() => resolve(body), delay));
  }
}
Controller()(RootController);
route(RootController, 'index', Get());

export class RootModule {}
Module({ controllers: [RootController] })(RootModule);
