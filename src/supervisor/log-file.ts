/**
 * --log-file PATH: the master's own lines and its workers' stdout and stderr,
 * one line per line with the time, the pid and the generation (text, or JSON
 * with --log-format json), appended to PATH, which SIGUSR1 reopens (logrotate's
 * postrotate, as nginx does). A worker's output is read line by line through
 * a pipe; a line longer than MAX_LINE is cut there. Writes are synchronous, as
 * the master's own lines always were: a line is never lost to an exit. The
 * last lines are kept in memory too (log-lines.ts), for `baton logs` and GET /api/logs.
 */
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import { entryText, errMessage, type LogEntry, textLine } from '../log.js';
import type { LogFormat } from '../protocol/settings.js';
import { logLineText } from '../protocol/logs.js';
import { LogLines } from './log-lines.js';

const MAX_LINE = 64 * 1024;

export class LogFile {
  private fd: number;
  /** The last lines written, in memory. */
  readonly recent = new LogLines();

  constructor(
    private readonly file: string,
    private readonly format: LogFormat,
  ) {
    this.fd = LogFile.open(file);
  }

  /** Opens PATH for appending, made if missing (mode 640); a one-line error naming it. */
  static open(file: string): number {
    try {
      return fs.openSync(file, 'a', 0o640);
    } catch (err) {
      throw new Error(
        `--log-file ${file}: ${(err as NodeJS.ErrnoException).code ?? errMessage(err)} (give a file in a directory this user may write)`,
      );
    }
  }

  /** Appends one of the master's own lines. */
  entry(e: LogEntry): void {
    this.write(this.format === 'json' ? JSON.stringify(e) : textLine(e));
    this.recent.add({
      time: Date.parse(e.at),
      pid: null,
      generation: e.generation,
      stream: 'master',
      line: entryText(e),
    });
  }

  /** Reads a worker's stream, each line appended as its `pid`'s, of `generation`, on `stream`. */
  follow(from: Readable, who: { pid: number; generation: number; stream: 'stdout' | 'stderr' }): void {
    let pending = '';
    from.setEncoding('utf8');
    from.on('data', (chunk: string) => {
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) !== -1 || pending.length > MAX_LINE) {
        const end = nl === -1 ? MAX_LINE : nl;
        this.line(who, pending.slice(0, end));
        pending = pending.slice(nl === -1 ? end : end + 1);
      }
    });
    from.on('end', () => pending && this.line(who, pending));
  }

  /** SIGUSR1: a new file where PATH is now (the old one renamed by logrotate), the old one closed. */
  reopen(): void {
    const old = this.fd;
    this.fd = LogFile.open(this.file);
    fs.closeSync(old);
  }

  private line(who: { pid: number; generation: number; stream: 'stdout' | 'stderr' }, text: string): void {
    const l = this.recent.add({ time: Date.now(), ...who, line: text });
    const at = new Date(l.time).toISOString();
    this.write(
      this.format === 'json'
        ? JSON.stringify({ at, pid: who.pid, generation: who.generation, stream: who.stream, text })
        : logLineText(l),
    );
  }

  private write(line: string): void {
    try {
      fs.writeSync(this.fd, `${line}\n`);
    } catch {
      // A full disk or a file gone bad: the app serves on, its lines are lost, as stderr's would be.
    }
  }
}
