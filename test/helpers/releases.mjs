// The deploy layout `current -> releases/vN` for the tests that switch releases.
import fs from 'node:fs';
import path from 'node:path';
import { get } from './load.mjs';
import { root, tmpDir } from './proc.mjs';

/**
 * A deploy directory with a release per name in `good` (`app`, by default the
 * fixture that answers /release with its directory's name) and in `broken`
 * (one that throws at start), and `current` pointing at the first good one.
 * @typedef {{ good?: string[], broken?: string[], app?: string }} Releases
 * @param {import('node:test').TestContext} t
 * @param {Releases} [options]
 */
export function deployDir(t, { good = ['v1', 'v2'], broken = [], app = 'test/fixtures/release-app.mjs' } = {}) {
  const dir = tmpDir('baton-releases-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const v of [...good, ...broken]) fs.mkdirSync(path.join(dir, 'releases', v), { recursive: true });
  for (const v of good) fs.copyFileSync(path.join(root, app), path.join(dir, 'releases', v, 'app.mjs'));
  for (const v of broken)
    fs.writeFileSync(path.join(dir, 'releases', v, 'app.mjs'), `throw new Error('release ${v} is broken');\n`);
  fs.symlinkSync(`releases/${good[0]}`, path.join(dir, 'current'));
  return { dir, current: path.join(dir, 'current') };
}

/**
 * Re-points `current` atomically, as a deploy tool does (new link, then rename over the old one).
 * @param {string} dir
 * @param {string} release
 */
export function switchTo(dir, release) {
  fs.symlinkSync(`releases/${release}`, path.join(dir, 'current.new'));
  fs.renameSync(path.join(dir, 'current.new'), path.join(dir, 'current'));
}

/** The release the app at `target` serves from. */
export const releaseOf = async (/** @type {import('../../dist/testing/load.js').Target} */ target) =>
  (await get(target, '/release')).body.trim();

/**
 * A directory for `baton run --releases DIR`: a release per name, as
 * deployDir makes them, directly in DIR, and DIR/current pointing at the
 * first good one.
 * @param {import('node:test').TestContext} t
 * @param {Releases} [options]
 */
export function releasesDir(t, options = {}) {
  const { dir, current } = deployDir(t, options);
  const releases = path.join(dir, 'releases');
  fs.symlinkSync(path.basename(fs.readlinkSync(current)), path.join(releases, 'current'));
  return releases;
}
