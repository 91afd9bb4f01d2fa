// baton's log lines, caught in-process: log.js writes them with fs.writeSync to fd 2.
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

/** baton's log lines from now until the test ends. */
export function captureLog(t) {
  const lines = [];
  const real = fs.writeSync;
  fs.writeSync = (fd, data, ...rest) => (fd === 2 ? (lines.push(String(data)), String(data).length) : real(fd, data, ...rest));
  syncBuiltinESMExports();
  t.after(() => {
    fs.writeSync = real;
    syncBuiltinESMExports();
  });
  return lines;
}
