/**
 * The runtime the public API talks to: the one `batonjs/register` installed, a
 * stub from `batonjs/testing`, or none (the API then does nothing harmful, so an
 * app's modules can be imported by its own tests). Shared by every copy of
 * baton in the process.
 */
import { processSlot } from './shared.js';

export interface ApiRuntime {
  readonly generation: number;
  ready(): void;
  isDraining(): boolean;
  upgrade(): Promise<boolean>;
}

const slot = processSlot('runtime.v1', (): { runtime?: ApiRuntime } => ({}));

export function currentRuntime(): ApiRuntime | undefined {
  return slot.runtime;
}

export function setRuntime(runtime: ApiRuntime | undefined): void {
  slot.runtime = runtime;
}
