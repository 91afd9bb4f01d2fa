// The master's timeline (control/events.ts) and the control socket's events request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EVENTS, EventLog } from '../../dist/control/events.js';
import { parseRequest } from '../../dist/protocol/control.js';

/** @param {string} text */
const entry = (text) => ({
  at: new Date().toISOString(),
  level: /** @type {const} */ ('info'),
  pid: 1,
  generation: 1,
  text,
  fields: {},
});

test('events get rising ids; after(id) gives those after it, oldest first; the oldest go past EVENTS', () => {
  const log = new EventLog();
  for (let i = 0; i < EVENTS + 5; i++) log.add(entry(`line ${i}`));
  const all = log.after(0);
  assert.equal(all.length, EVENTS);
  assert.deepEqual([all[0].id, all[0].text], [6, 'line 5']);
  assert.deepEqual(
    log.after(EVENTS + 3).map((e) => e.id),
    [EVENTS + 4, EVENTS + 5],
  );
  assert.deepEqual(log.after(EVENTS + 5), []);
});

test('a subscriber hears each event from then on until it unsubscribes; one that throws is dropped, the others hear on', () => {
  const log = new EventLog();
  log.add(entry('before'));
  /** @type {string[]} */
  const heard = [];
  const stop = log.subscribe((e) => heard.push(e.text));
  log.subscribe(() => {
    throw new Error('a client gone');
  });
  log.add(entry('one'));
  log.add(entry('two'));
  stop();
  log.add(entry('after'));
  assert.deepEqual(heard, ['one', 'two']);
});

test('the events request: after and follow, checked', () => {
  assert.deepEqual(parseRequest('{"cmd":"events"}'), { cmd: 'events' });
  assert.deepEqual(parseRequest('{"cmd":"events","after":12,"follow":true}'), {
    cmd: 'events',
    after: 12,
    follow: true,
  });
  assert.match(/** @type {{ error: string }} */ (parseRequest('{"cmd":"events","after":-1}')).error, /"after"/);
  assert.match(/** @type {{ error: string }} */ (parseRequest('{"cmd":"events","follow":"yes"}')).error, /"follow"/);
});
