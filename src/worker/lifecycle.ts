/**
 * The life of a baton process, the same in both modes:
 *
 *   serving ──upgrade──▶ upgrading ──successor in service──▶ draining ──▶ exited
 *      ▲                     │
 *      └──successor failed───┘
 *
 * and from serving or upgrading, a drain order or a stop leads to draining.
 * A master's worker never upgrades itself: it goes from serving to draining.
 */
export type State = 'serving' | 'upgrading' | 'draining' | 'exited';

const NEXT: Record<State, readonly State[]> = {
  serving: ['upgrading', 'draining'],
  upgrading: ['serving', 'draining'],
  draining: ['exited'],
  exited: [],
};

export class Lifecycle {
  private current: State = 'serving';

  get state(): State {
    return this.current;
  }

  /** Moves to `next` where the diagram allows it; false, and no change, where it does not. */
  to(next: State): boolean {
    if (!NEXT[this.current].includes(next)) return false;
    this.current = next;
    return true;
  }
}
