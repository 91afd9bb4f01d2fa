/**
 * Counting the requests of the app's servers, for the heartbeat: answers by
 * status class, requests that ended unanswered (aborted, reset, timed out)
 * and the answers' latency in fixed buckets; raw net servers, their
 * connections. On the request path, so it costs what it must and no more:
 * an HTTP/1 request is seen through Node's diagnostics channel (no listener
 * on the server itself, whose one 'request' listener stays Node's fast
 * path), and each request and HTTP/2 stream gets one shared 'close'
 * listener (no closure) and its start time; the counts are typed arrays,
 * read and zeroed once a beat.
 */
import dc from 'node:diagnostics_channel';
import type http from 'node:http';
import type http2 from 'node:http2';
import type net from 'node:net';
import type { Protocol } from '../drain/track.js';
import { CODES, LATENCY_BOUNDS_MS, type RequestCounts, UNANSWERED } from '../protocol/requests.js';

const codes = new Float64Array(CODES.length);
const buckets = new Float64Array(LATENCY_BOUNDS_MS.length + 1);
let sumMs = 0;
let connections = 0;
/**
 * The servers counted: one that listens again is not counted twice, and the diagnostics channel tells of every
 * HTTP/1 server in the process.
 */
const counted = new WeakSet<object>();
let subscribed = false;
/** Where a request's or stream's start time is kept, on the object itself. */
const STARTED = Symbol('baton.started');

type Timed = { [STARTED]?: number };

/** From now on, counts what `server` serves. */
export function countRequests(server: net.Server, protocol: Protocol): void {
  if (counted.has(server)) return;
  counted.add(server);
  if (protocol === 'net') {
    server.on('connection', connected);
    return;
  }
  // An HTTP/2 server that allows HTTP/1 serves those requests as node:http does, through the channel.
  if (protocol === 'http2') server.on('stream', streamStarted);
  if (!subscribed) {
    subscribed = true;
    dc.subscribe('http.server.request.start', requestStarted);
  }
}

function connected(): void {
  connections += 1;
}

function requestStarted(message: unknown): void {
  const { server, response } = message as { server: object; response: http.ServerResponse & Timed };
  if (!counted.has(server)) return;
  response[STARTED] = performance.now();
  response.on('close', responseClosed);
}

function responseClosed(this: http.ServerResponse & Timed): void {
  ended(this.writableFinished ? this.statusCode : 0, this[STARTED]!);
}

function streamStarted(stream: http2.ServerHttp2Stream & Timed): void {
  stream[STARTED] = performance.now();
  stream.on('close', streamClosed);
}

function streamClosed(this: http2.ServerHttp2Stream & Timed): void {
  const status = this.headersSent && this.writableFinished ? Number(this.sentHeaders[':status']) : 0;
  ended(status, this[STARTED]!);
}

/** One request ended: answered with `status`, or 0 when it was not. */
function ended(status: number, started: number): void {
  if (status === 0) {
    codes[UNANSWERED]! += 1;
    return;
  }
  // 2xx to 5xx, in CODES' order; a final status outside them (none that a server should send) with the nearest.
  codes[Math.min(3, Math.max(0, Math.floor(status / 100) - 2))]! += 1;
  const ms = performance.now() - started;
  sumMs += ms;
  let i = 0;
  while (i < LATENCY_BOUNDS_MS.length && ms > LATENCY_BOUNDS_MS[i]!) i++;
  buckets[i]! += 1;
}

/** The counts since the last call, which start again from 0. */
export function takeCounts(): RequestCounts {
  const taken: RequestCounts = { codes: Array.from(codes), buckets: Array.from(buckets), sumMs, connections };
  codes.fill(0);
  buckets.fill(0);
  sumMs = 0;
  connections = 0;
  return taken;
}
