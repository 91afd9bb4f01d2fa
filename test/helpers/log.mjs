// baton's log lines, caught in-process: log.js writes them with fs.writeSync to fd 2.
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

/**
 * baton's log lines from now until the test ends.
 * @param {import('node:test').TestContext} t
 * @returns {string[]}
 */
export function captureLog(t) {
  /** @type {string[]} */
  const lines = [];
  const real = fs.writeSync;
  fs.writeSync = (fd, data, ...rest) => {
    if (fd !== 2) return real(fd, data, ...rest);
    lines.push(String(data));
    return String(data).length;
  };
  syncBuiltinESMExports();
  t.after(() => {
    fs.writeSync = real;
    syncBuiltinESMExports();
  });
  return lines;
}
