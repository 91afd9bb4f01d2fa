/**
 * socket.io's HTTP long-polling transport needs every request of a client's
 * session to reach the one process that holds it: a proxy's sticky sessions.
 * baton has no proxy (workers accept from one shared socket), so with more
 * than one worker a polling client's requests land on workers that do not
 * know its session. Said once, at start, when the app's package.json (the
 * nearest one above its script) depends on socket.io.
 */
import fs from 'node:fs';
import path from 'node:path';
import { log } from '../log.js';

export function warnStickySessions(script: string, workers: number): void {
  if (workers < 2) return;
  const pkg = nearestPackageJson(path.dirname(script));
  if (pkg && dependsOn(pkg, 'socket.io')) {
    log(
      'warn',
      `socket.io's polling transport needs sticky sessions, which baton has no proxy to give: with -w ${workers} its clients fail; connect them with transports: ['websocket'], or run -w 1`,
      { package: pkg },
    );
  }
}

function nearestPackageJson(dir: string): string | undefined {
  for (let d = dir, i = 0; i < 64; d = path.dirname(d), i++) {
    const candidate = path.join(d, 'package.json');
    if (fs.existsSync(candidate)) return candidate;
    if (path.dirname(d) === d) return undefined;
  }
  return undefined;
}

function dependsOn(file: string, name: string): boolean {
  try {
    const { dependencies } = JSON.parse(fs.readFileSync(file, 'utf8')) as { dependencies?: Record<string, unknown> };
    return typeof dependencies === 'object' && dependencies !== null && name in dependencies;
  } catch {
    return false;
  }
}
