/** What the page's modules share: what this page did, and how to ask for the status anew. */
export const page = {
  /** The serving generation, as the last status said. */
  serving: 0,
  /** This page's reloads until each new generation serves (an old one may drain long after): the buttons wait. */
  reloading: 0,
  /** The master this page told to stop: its 'Stopping' outcome stays until another master answers. */
  stoppedPid: null as number | null,
  /** Asks for the status now, and shows it, or the sign-in (main.ts). */
  refresh: (): void => {},
};
