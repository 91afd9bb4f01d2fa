/**
 * Between an old master and the new one it starts (`baton upgrade`): the new
 * master gets, as inherited fds named in LISTEN_FDNAMES, every listening
 * socket, the control socket (CONTROL_FD_NAME) and the admin listener
 * (ADMIN_FD_NAME); a pipe (UPGRADE_TAIL_FD) for what it writes to stderr
 * while it starts, which the old master quotes if it fails; and one message
 * over the IPC channel once its first generation is in service.
 */
export { ADMIN_FD_NAME } from './fds.js';

/** The control socket's name among the inherited fds: the new master answers on it, never the app. */
export const CONTROL_FD_NAME = 'baton-control';

/**
 * The names of the passed sockets whose unix paths the old master bound (a JSON list): the new one removes them at its
 * stop, as the old one would have.
 */
export const UPGRADE_OWNED = 'BATON_UPGRADE_OWNED';

/** Set (to the fd of the stderr-tail pipe) in the environment of a master started by `baton upgrade`. */
export const UPGRADE_TAIL_FD = 'BATON_UPGRADE_TAIL_FD';

/** The new master's word that its first generation is in service: the old master drains and exits. */
export interface InServiceMessage {
  baton: 'upgrade';
  type: 'in-service';
  pid: number;
  version: string;
}

export function inService(pid: number, version: string): InServiceMessage {
  return { baton: 'upgrade', type: 'in-service', pid, version };
}

export function isInService(m: unknown): m is InServiceMessage {
  const o = m as Partial<InServiceMessage> | null;
  return (
    typeof o === 'object' &&
    o !== null &&
    o.baton === 'upgrade' &&
    o.type === 'in-service' &&
    typeof o.pid === 'number' &&
    typeof o.version === 'string'
  );
}
