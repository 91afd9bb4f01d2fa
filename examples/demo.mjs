// `npm run demo`: the http example under baton (standalone mode), upgraded 5
// times while a bounded client hammers it, then the counts. Loopback only.
import path from 'node:path';
import { startLoad } from '../test/helpers/load.mjs';
import { cleanup, examples, freePort, servingPid, sleep, startStandalone, upgrade, waitFor } from '../test/helpers/proc.mjs';

const UPGRADES = 5;
const port = await freePort();
const target = { protocol: 'http', host: '127.0.0.1', port };
const app = startStandalone(path.join(examples, 'http.mjs'), { env: { PORT: String(port), HOST: '127.0.0.1', DELAY_MS: '5' } });
const stopAll = () => cleanup(app).then(() => process.exit(1));
process.once('SIGINT', stopAll);

try {
  let pid = await waitFor(() => servingPid(target), { what: 'the demo app to serve' });
  console.log(`demo app serving on http://127.0.0.1:${port} as pid ${pid}; load: 16 keep-alive + 16 new-connection clients`);
  const loads = [startLoad({ target, mode: 'keepalive' }), startLoad({ target, mode: 'close' })];
  for (let i = 1; i <= UPGRADES; i++) {
    await sleep(1000);
    const started = Date.now();
    const next = await upgrade(app, pid);
    console.log(`upgrade ${i}: pid ${pid} -> ${next}, old generation gone after ${Date.now() - started} ms`);
    pid = next;
  }
  await sleep(1000);
  const [k, c] = [await loads[0].stop(), await loads[1].stop()];
  process.kill(pid, 'SIGTERM');
  await app.exited.catch(() => {});
  const failed = k.failed + c.failed;
  console.log(`requests served: ${k.ok + c.ok} (keep-alive ${k.ok}, new connection each ${c.ok})`);
  console.log(`failed requests: ${failed}${failed ? ` ${JSON.stringify({ ...k.failures, ...c.failures })}` : ''}`);
  process.exitCode = failed === 0 ? 0 : 1;
} finally {
  await cleanup(app);
}
