// What every generated feature module of the heavy app shares: a clock
// provider in a global module, and route(), which applies Nest's method and
// parameter decorators without decorator syntax (plain JS, no build step).
import { Global, Injectable, Module } from '@nestjs/common';

export class Clock {
  now() {
    return Date.now();
  }
}
Injectable()(Clock);

export class SharedModule {}
Module({ providers: [Clock], exports: [Clock] })(SharedModule);
Global()(SharedModule);

/** Marks `cls.prototype[name]` as a route: `method` is Get(...), Post(...); `params[i]` decorates argument i. */
export function route(cls, name, method, params = []) {
  const proto = cls.prototype;
  method(proto, name, Object.getOwnPropertyDescriptor(proto, name));
  params.forEach((param, i) => param(proto, name, i));
}
