/**
 * `batonjs/testing`: for an app's own tests, and baton's. Importing it patches
 * nothing and starts nothing.
 *   - installTestRuntime(): a stub runtime for unit tests of the app's use of
 *     the API (ready, isDraining, onDrain and onShutdown hooks with a deadline);
 *   - the harness: start the app under baton (standalone or supervised), load
 *     it, reload it, and count failed requests.
 */
export { type DrainOptions, type ShutdownOptions, type TestRuntime, installTestRuntime } from './runtime.js';
export {
  type App,
  type Reloaded,
  type ReloadUnderLoadOptions,
  type ReloadUnderLoadResult,
  type StandaloneApp,
  type StartOptions,
  type SupervisedApp,
  type SupervisedOptions,
  baton,
  cleanup,
  freePort,
  readyWorkers,
  reload,
  reloadUnderLoad,
  startStandalone,
  startSupervised,
  status,
  upgrade,
  waitFor,
} from './harness.js';
export { type Load, type LoadMode, type LoadOptions, type LoadStats, type Target, get, startLoad } from './load.js';
