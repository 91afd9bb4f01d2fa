#!/usr/bin/env node
/**
 * The `baton` command: `run` starts a master in the foreground; `reload`,
 * `stop`, `status`, `releases`, `events`, `logs` and `upgrade` talk to a
 * running one over its control socket. Exit
 * codes: 0 success, 1 rollback or failure, 2 usage error or no master.
 */
import { type ControlCommand, type ParsedCommand, UsageError, helpText, parseArgs } from './args.js';
import { runCommand } from '../control/client.js';
import { clientControlPath, serverControlPath } from '../control/paths.js';
import { logicalCwd } from '../cwd.js';
import { type RunArgs, type RunCommand, resolveRun } from './resolve.js';
import { run } from './run.js';
import { batonVersion } from './version.js';

/**
 * A reader that hangs up early (`baton reload | head -1`, `| true`) has taken
 * all it wanted: the lines after are dropped, and the command still runs to
 * its end and exits with its own status. Without a listener Node would throw
 * the EPIPE, exit 1 with a stack, and cut a reload's output short.
 */
function dropOutputOnHangUp(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
    });
  }
}

function fail(message: string, code: number): void {
  process.stderr.write(`baton: ${message.split('\n')[0]}\n`);
  process.exitCode = code;
}

async function main(argv: string[]): Promise<void> {
  let parsed: ParsedCommand;
  try {
    parsed = parseArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) return fail(err.message, 2);
    throw err;
  }
  switch (parsed.cmd) {
    case 'help':
      process.stdout.write(`${helpText(parsed.topic)}\n`);
      return;
    case 'version':
      process.stdout.write(`${batonVersion()}\n`);
      return;
    case 'run':
      return startMaster(parsed);
    default:
      return askMaster(parsed);
  }
}

/** `baton run`: a master in the foreground, until it stops. */
async function startMaster(parsed: RunArgs): Promise<void> {
  if (process.platform === 'win32') {
    return fail(
      'baton run needs fd passing, which Windows lacks; run the app with node directly and restart it to deploy',
      2,
    );
  }
  let command: RunCommand;
  let controlPath: string;
  try {
    command = await resolveRun(parsed, logicalCwd());
    controlPath = serverControlPath({ name: command.options.name, control: command.options.control });
  } catch (err) {
    return fail((err as Error).message, 2);
  }
  try {
    await run(command, controlPath);
  } catch (err) {
    fail((err as Error).message, 1);
    process.exit(1);
  }
}

/** A control command (reload, stop, status, …), over the running master's control socket. */
async function askMaster(parsed: ControlCommand): Promise<void> {
  if (parsed.cmd === 'upgrade' && process.platform === 'win32')
    return fail('baton upgrade is not supported on Windows (baton run does not run there)', 2);
  let path: string;
  try {
    path = await clientControlPath(parsed);
  } catch (err) {
    return fail((err as Error).message, 2);
  }
  process.exitCode = await runCommand(path, parsed.cmd, {
    json: parsed.json,
    release: parsed.release,
    node: parsed.node,
    canary: parsed.canary,
    canaryFor: parsed.canaryFor,
    batch: parsed.batch,
    follow: parsed.follow,
    worker: parsed.worker,
    limit: parsed.lines,
  });
}

dropOutputOnHangUp();
await main(process.argv.slice(2));
