// `npm run demo`: the http example under `baton run -w 2`, reloaded 5 times
// while a bounded client hammers it, then the counts. Loopback only.
import path from 'node:path';
import { startLoad } from '../test/helpers/load.mjs';
import { baton, readyWorkers, startMaster, stopMaster } from '../test/helpers/master.mjs';
import { examples, freePort, servingPid, sleep, waitFor } from '../test/helpers/proc.mjs';

const RELOADS = 5;
const port = await freePort();
/** @type {import('../dist/testing/load.js').Target} */
const target = { protocol: 'http', host: '127.0.0.1', port };
const master = startMaster(['-w', '2', path.join(examples, 'http.mjs')], {
  env: { PORT: String(port), HOST: '127.0.0.1', DELAY_MS: '5' },
});
process.once('SIGINT', () => stopMaster(master).then(() => process.exit(1)));

try {
  await waitFor(() => servingPid(target), { what: 'the demo app to serve' });
  const first = await readyWorkers(master, 2);
  console.log(
    `baton run -w 2 examples/http.mjs: master pid ${master.child.pid}, workers ${first.join(', ')}, http://127.0.0.1:${port}`,
  );
  console.log('load: 16 keep-alive clients + 16 clients opening a new connection per request');
  const loads = [startLoad({ target, mode: 'keepalive' }), startLoad({ target, mode: 'close' })];
  const times = [];
  for (let i = 1; i <= RELOADS; i++) {
    await sleep(1000);
    const r = await baton(['reload', '--control', master.control]);
    const ms = Number(/reload took (\d+) ms/.exec(r.stdout)?.[1]);
    times.push(ms);
    const workers = await readyWorkers(master, 2);
    console.log(
      `baton reload ${i}: exit ${r.code}, ${ms} ms from command to old generation gone; workers now ${workers.join(', ')}`,
    );
  }
  await sleep(1000);
  const [k, c] = [await loads[0].stop(), await loads[1].stop()];
  const failed = k.failed + c.failed;
  console.log(`requests served: ${k.ok + c.ok} (keep-alive ${k.ok}, new connection each ${c.ok})`);
  console.log(`failed requests: ${failed}${failed ? ` ${JSON.stringify({ ...k.failures, ...c.failures })}` : ''}`);
  console.log(`reload times (ms): ${times.join(', ')}`);
  process.kill(master.child.pid, 'SIGTERM');
  await master.exited;
  process.exitCode = failed === 0 && times.every(Number.isFinite) ? 0 : 1;
} finally {
  await stopMaster(master);
}
