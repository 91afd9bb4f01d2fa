/**
 * The admin listener, as `baton run --admin` and a standalone process with
 * BATON_ADMIN load it: on demand, so a process without it stays lean. A
 * standalone process loads it beside its bundled preload, whose log is
 * another copy: configureLog makes this one's lines say the same.
 */
export { configureLog } from '../log.js';
export { Metrics } from './metrics.js';
export { startAdminServer } from './server.js';
