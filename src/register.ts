/**
 * `node --import batonjs/register app.js`: an unmodified app's server.listen()
 * calls use the sockets the previous generation passed on, and the process
 * upgrades itself onto new code on SIGUSR2 (BATON_UPGRADE_SIGNAL).
 */
import { install } from './worker/runtime.js';

// Beside this file, bundled or not; loaded only when BATON_ADMIN asks for the admin listener
// (and only then is import.meta made, which costs a start about 0.3 ms).
install(() => new URL('./admin/index.js', import.meta.url));
