/** baton's version: its package.json's, read from the install this process runs from. */
import fs from 'node:fs';

let version: string | undefined;

export function batonVersion(): string {
  version ??= (
    JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  ).version;
  return version;
}
