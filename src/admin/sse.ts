/**
 * What the master keeps for readers (ring.ts), as Server-Sent Events: those
 * kept that the reader has not seen, then each new one as it comes, its
 * number as the id, so that an EventSource resumes after Last-Event-ID by
 * itself; a reader that falls FOLLOW_BACKLOG_BYTES behind is cut off (and
 * resumes likewise) rather than held in the master's memory.
 */
import type http from 'node:http';
import { FOLLOW_BACKLOG_BYTES } from '../ring.js';

export interface Followed<T> {
  /** The SSE event's name. */
  event: string;
  id: (entry: T) => number;
  /** Those kept that the reader asks for, oldest first. */
  kept: T[];
  subscribe: (listener: (entry: T) => void) => () => void;
  /** Which new ones the reader asks for. */
  wanted?: (entry: T) => boolean;
}

export function followAsEvents<T>(res: http.ServerResponse, f: Followed<T>): void {
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store' });
  const send = (entry: T): void => {
    if (res.destroyed) return;
    if (res.writableLength > FOLLOW_BACKLOG_BYTES) res.destroy();
    else res.write(`id: ${f.id(entry)}\nevent: ${f.event}\ndata: ${JSON.stringify(entry)}\n\n`);
  };
  for (const entry of f.kept) send(entry);
  const { wanted } = f;
  res.on('close', f.subscribe(wanted ? (entry) => wanted(entry) && send(entry) : send));
}
