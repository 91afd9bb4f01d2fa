import { log } from '../log.js';

const said = new Set<string>();

/** One line, once per process, for an internal baton relies on that this Node.js lacks. */
export function warnOnce(key: string, message: string): void {
  if (said.has(key)) return;
  said.add(key);
  log('warn', message);
}
