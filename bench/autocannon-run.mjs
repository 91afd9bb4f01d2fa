// The fallback load generator, in a process of its own so that it does not
// share an event loop with the orchestrator: autocannon with the same
// connections and duration as wrk, printing the same BENCH_RESULT line.
// Usage: node bench/autocannon-run.mjs '{"url":..,"connections":50,"durationS":20,"mode":"keepalive"|"close","timeoutS":2}'
import autocannon from 'autocannon';

const o = JSON.parse(process.argv[2]);
const errors = { connect: 0, read: 0, write: 0, timeout: 0, status: 0, non2xx: 0 };
const perSecond = {};
let responses = 0;
const started = Date.now();

const instance = autocannon({
  url: o.url,
  connections: o.connections,
  duration: o.durationS,
  timeout: o.timeoutS,
  headers: o.mode === 'close' ? { connection: 'close' } : {},
});
instance.on('response', (_client, statusCode) => {
  responses++;
  const s = Math.floor(Date.now() / 1000);
  const e = (perSecond[s] ??= [0, 0]);
  e[0]++;
  if (statusCode < 200 || statusCode > 299) {
    e[1]++;
    errors.non2xx++;
    if (statusCode > 399) errors.status++;
  }
});
instance.on('reqError', (err) => {
  if (err.code === 'ECONNREFUSED') errors.connect++;
  else if (err.code === 'EPIPE') errors.write++;
  else if (/timed out/.test(err.message)) errors.timeout++;
  else errors.read++;
});
instance.on('done', (result) => {
  const line = {
    requests: responses,
    durationUs: (Date.now() - started) * 1000,
    errors,
    latencyUs: {
      p50: Math.round(result.latency.p50 * 1000),
      p99: Math.round(result.latency.p99 * 1000),
      mean: result.latency.average * 1000,
      max: Math.round(result.latency.max * 1000),
    },
    perSecond,
  };
  process.stdout.write(`BENCH_RESULT ${JSON.stringify(line)}\n`);
});
