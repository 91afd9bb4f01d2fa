/**
 * The runtime the public API talks to: the one `baton/register` installed, a
 * stub from `baton/testing`, or none (the API then does nothing harmful, so an
 * app's modules can be imported by its own tests).
 */
export interface ApiRuntime {
  readonly generation: number;
  ready(): void;
  isDraining(): boolean;
  upgrade(): Promise<boolean>;
}

let installed: ApiRuntime | undefined;

export function currentRuntime(): ApiRuntime | undefined {
  return installed;
}

export function setRuntime(runtime: ApiRuntime | undefined): void {
  installed = runtime;
}
