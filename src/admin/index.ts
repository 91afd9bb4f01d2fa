/** The admin listener, as `baton run --admin` loads it: on demand, so a master without it stays lean. */
export { Metrics } from './metrics.js';
export { startAdminServer } from './server.js';
