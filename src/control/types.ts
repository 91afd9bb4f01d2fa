/**
 * What the control socket carries between `baton reload|stop|status` and the
 * master: one JSON request line, answered by JSON lines (phases, then a result).
 */
export type Command = 'reload' | 'stop' | 'status';

export interface Request {
  cmd: Command;
}

/** One step of a reload, streamed to the client as it happens. */
export type Phase =
  | { phase: 'spawned'; generation: number; pids: number[] }
  | { phase: 'ready'; generation: number; ms: number }
  | { phase: 'draining'; generation: number; connections: number }
  | { phase: 'done'; generation: number; ms: number }
  | { phase: 'queued'; reason: string }
  | { phase: 'rollback'; generation: number; reason: string; stderrTail: string };

export interface ReloadResult {
  ok: boolean;
  generation: number;
  /** Command to old generation gone (ok), or to rollback complete. */
  ms: number;
  reason?: string;
  stderrTail?: string;
}

export interface WorkerStatus {
  pid: number;
  generation: number;
  state: 'starting' | 'ready' | 'draining';
  uptimeMs: number;
  rssBytes: number | null;
}

export interface Status {
  name: string;
  masterPid: number;
  uptimeMs: number;
  generation: number;
  workers: WorkerStatus[];
  listeners: string[];
  reloads: { generation: number; ok: boolean; ms: number; at: string; reason?: string }[];
}

/** Lines the master writes back. */
export type Reply =
  | { type: 'phase'; data: Phase }
  | { type: 'reload'; data: ReloadResult }
  | { type: 'status'; data: Status }
  | { type: 'stopping' }
  | { type: 'error'; message: string };

/** The master side, as the control server sees it. */
export interface Controllable {
  reload(onPhase: (phase: Phase) => void): Promise<ReloadResult>;
  stop(): void;
  status(): Status;
}
