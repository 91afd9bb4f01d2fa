// The load client is batonjs/testing's (src/testing/load.ts). The tests' apps
// answer with their pid, so here a good response is one whose body is the pid,
// counted per pid in stats.pids.
import { startLoad as start } from '../../dist/testing/load.js';

export { get } from '../../dist/testing/load.js';

/**
 * startLoad with expect: 'pid' unless told otherwise.
 * @param {import('../../dist/testing/load.js').LoadOptions} options
 */
export function startLoad(options) {
  return start({ expect: 'pid', ...options });
}
