// The load generator: wrk (C, one thread, N connections) driven by a Lua
// script that also counts responses and non-2xx per second, or autocannon
// (run in its own process) when wrk is missing or BENCH_LOADGEN=autocannon.
// Both report the same shape:
//   { tool, command, requests, durationMs, errors: {connect, read, write, timeout, non2xx},
//     latencyMs: {p50, p99, mean, max}, perSecond: {<unix second>: [responses, non2xx]} }
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

// Per thread: responses and non-2xx per wall-clock second (os.time()); done()
// gathers every thread's tables and prints one line of JSON after wrk's report.
const WRK_LUA = `
threads = {}
function setup(thread)
  table.insert(threads, thread)
end
resp = {}
bad = {}
function response(status, headers, body)
  local s = os.time()
  resp[s] = (resp[s] or 0) + 1
  if status < 200 or status > 299 then bad[s] = (bad[s] or 0) + 1 end
end
function done(summary, latency, requests)
  local secs = {}
  for _, t in ipairs(threads) do
    local r = t:get("resp")
    local b = t:get("bad")
    for s, n in pairs(r) do
      local e = secs[s] or {0, 0}
      e[1] = e[1] + n
      secs[s] = e
    end
    for s, n in pairs(b) do
      local e = secs[s] or {0, 0}
      e[2] = e[2] + n
      secs[s] = e
    end
  end
  local parts = {}
  local non2xx = 0
  for s, e in pairs(secs) do
    table.insert(parts, string.format('"%d":[%d,%d]', s, e[1], e[2]))
    non2xx = non2xx + e[2]
  end
  local er = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"durationUs":%d,"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d,"non2xx":%d},' ..
    '"latencyUs":{"p50":%d,"p99":%d,"mean":%.1f,"max":%d},"perSecond":{%s}}\\n',
    summary.requests, summary.duration, er.connect, er.read, er.write, er.timeout, er.status, non2xx,
    latency:percentile(50), latency:percentile(99), latency.mean, latency.max, table.concat(parts, ",")))
end
`;

let chosen;

/**
 * Picks the load generator once: BENCH_LOADGEN=autocannon forces autocannon;
 * else wrk if it is on PATH; else, when allowed and running as root with
 * apt-get, installs Debian's wrk; else autocannon, saying how to get wrk.
 */
export function chooseLoadGen({ install = true, log = console.log } = {}) {
  if (chosen) return chosen;
  if (process.env.BENCH_LOADGEN === 'autocannon') return (chosen = autocannonInfo('BENCH_LOADGEN=autocannon'));
  let version = wrkVersion();
  if (!version && install && process.getuid?.() === 0 && hasCommand('apt-get')) {
    log('wrk not found: installing it with apt-get (apt-get update, then apt-get install -y wrk)');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const update = spawnSync('apt-get', ['update'], { stdio: 'ignore', env, timeout: 300_000 });
    const inst =
      update.status === 0 && spawnSync('apt-get', ['install', '-y', 'wrk'], { stdio: 'ignore', env, timeout: 300_000 });
    if (inst?.status !== 0) log('apt-get could not install wrk');
    version = wrkVersion();
  }
  if (version) return (chosen = { tool: 'wrk', version });
  log(
    'wrk not found (install it with `apt-get install wrk` on Debian/Ubuntu or `brew install wrk`); falling back to autocannon',
  );
  return (chosen = autocannonInfo('wrk not found'));
}

function autocannonInfo(why) {
  const pkg = JSON.parse(fs.readFileSync(path.join(here, '../node_modules/autocannon/package.json'), 'utf8'));
  return { tool: 'autocannon', version: `autocannon ${pkg.version}`, why };
}

function hasCommand(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function wrkVersion() {
  const r = spawnSync('wrk', ['-v'], { encoding: 'utf8' });
  if (r.error) return undefined;
  const m = /wrk (\S+)/.exec(`${r.stdout}${r.stderr}`);
  return m ? `wrk ${m[1]}` : undefined;
}

/**
 * Runs one load for `durationS` seconds against http://host:port/ with
 * `connections` connections, keep-alive or a new connection per request.
 * Resolves when the tool has exited, with the counts; `startedAt` is set
 * (ms since epoch) as the tool is spawned.
 */
export function runLoad({ host = '127.0.0.1', port, durationS, connections = 50, mode, timeoutS = 2, tmpDir }) {
  const gen = chooseLoadGen();
  const url = `http://${host}:${port}/`;
  let args;
  let cmd;
  if (gen.tool === 'wrk') {
    const lua = path.join(tmpDir, 'bench.lua');
    if (!fs.existsSync(lua)) fs.writeFileSync(lua, WRK_LUA);
    cmd = 'wrk';
    args = ['-t1', `-c${connections}`, `-d${durationS}s`, `--timeout`, `${timeoutS}s`, '--latency', '-s', lua];
    if (mode === 'close') args.push('-H', 'Connection: close');
    args.push(url);
  } else {
    cmd = process.execPath;
    args = [path.join(here, 'autocannon-run.mjs'), JSON.stringify({ url, connections, durationS, mode, timeoutS })];
  }
  const printable =
    gen.tool === 'wrk'
      ? `wrk ${args
          .map((a) => (a.includes(' ') ? `'${a}'` : a))
          .join(' ')
          .replace(path.join(tmpDir, 'bench.lua'), 'bench.lua')}`
      : `node bench/autocannon-run.mjs '${args[1]}'`;
  const startedAt = Date.now();
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  // wrk stops by itself after -d; this only guards against a hang.
  const guard = setTimeout(() => child.kill('SIGKILL'), (durationS + 30) * 1000);
  const done = new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(guard);
      const line = out.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
      if (!line) {
        reject(new Error(`${gen.tool} exited ${code ?? signal} without a result: ${(err || out).slice(-500)}`));
        return;
      }
      const r = JSON.parse(line.slice('BENCH_RESULT '.length));
      resolve({
        tool: gen.tool,
        command: printable,
        startedAt,
        requests: r.requests,
        durationMs: r.durationUs / 1000,
        errors: {
          connect: r.errors.connect,
          read: r.errors.read,
          write: r.errors.write,
          timeout: r.errors.timeout,
          non2xx: r.errors.non2xx,
        },
        latencyMs: {
          p50: r.latencyUs.p50 / 1000,
          p99: r.latencyUs.p99 / 1000,
          mean: r.latencyUs.mean / 1000,
          max: r.latencyUs.max / 1000,
        },
        perSecond: r.perSecond,
      });
    });
  });
  return { child, done, startedAt };
}

/**
 * Failed requests: accepted by a server, then lost (reset while reading the
 * response, timed out, or answered with a non-2xx). Refused: never reached a
 * server (connect refused; wrk reports a refused non-blocking connect as a
 * write error, since the refusal surfaces on the first write).
 */
export function classify(errors) {
  return {
    failed: errors.read + errors.timeout + errors.non2xx,
    refused: errors.connect + errors.write,
  };
}
