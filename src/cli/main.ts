#!/usr/bin/env node
/**
 * The `baton` command. Standalone mode needs no command (`node --import
 * baton/register app.js`, then SIGUSR2); this prints how to use it.
 */
import fs from 'node:fs';

const USAGE = `baton — zero-downtime restarts for Node.js servers

Standalone (no supervisor):
  node --import baton/register app.js      start the app; its listen() calls become hand-over-able
  kill -USR2 <pid>                         upgrade onto the code on disk, with zero failed requests

Environment (standalone):
  BATON_READY_TIMEOUT=30s    how long a successor may take to become ready before rollback
  BATON_DRAIN_TIMEOUT=30s    how long the old process drains before closing what is left
  BATON_WAIT_READY=1         ready only when the app calls ready() or process.send('ready')
  BATON_UPGRADE_SIGNAL=SIGUSR2, BATON_PID_FILE=path, BATON_LOG_FORMAT=text|json

Options:
  -h, --help      this text
  -v, --version   baton's version`;

function version(): string {
  const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

const [arg] = process.argv.slice(2);
if (arg === undefined || arg === '-h' || arg === '--help') {
  process.stdout.write(`${USAGE}\n`);
} else if (arg === '-v' || arg === '--version') {
  process.stdout.write(`${version()}\n`);
} else {
  process.stderr.write(`baton: unknown command or option '${arg}' (see baton --help)\n`);
  process.exitCode = 2;
}
