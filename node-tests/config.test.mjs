// Dynamic config: precedence of sources (defaults < object < env < file < replicated), typed
// getters, watch, validation keeping the last good config; then across processes: a file edit and
// a replicated change reach running nodes in other processes and fire watch, and an invalid edit
// keeps the last good values and reports the error.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openConfig, defaults, object, env, file, mergeConfig } from '../js/dist/node.js';
import { ChildProcess } from './support/child.mjs';
import { waitFor, within } from './support/wait.mjs';

const dir = mkdtempSync(join(tmpdir(), 'nitro-config-'));
const procs = [];
after(() => {
  for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL'); // only after a failure
  rmSync(dir, { recursive: true, force: true });
});

// Atomic replace, as editors and deploy tools do: readers never see half a file.
let edits = 0;
function writeJson(path, value) {
  const tmp = `${path}.${++edits}.tmp`;
  writeFileSync(tmp, typeof value === 'string' ? value : JSON.stringify(value));
  renameSync(tmp, path);
}

test('config: merge is deep; later sources win; arrays and scalars replace', () => {
  assert.deepEqual(mergeConfig({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { c: [3] }, d: { e: 2 } }), { a: { b: 1, c: [3] }, d: { e: 2 } });
});

test('config: sources by precedence, typed getters with defaults, env parsing', async () => {
  const path = join(dir, 'precedence.json');
  writeJson(path, { db: { port: 5433 }, mode: 'file' });
  const config = await openConfig({
    sources: [
      defaults({ db: { host: 'localhost', port: 5432 }, mode: 'default', debug: false }),
      { mode: 'object', extra: 1 },
      env('APP_', { env: { APP_MODE: 'env', APP_DB__USER: 'nitro', APP_DEBUG: 'true', APP_LIST: '[1,2]', OTHER: 'x' } }),
      file(path),
    ],
  });
  assert.deepEqual(config.all(), { db: { host: 'localhost', port: 5433, user: 'nitro' }, mode: 'file', debug: true, extra: 1, list: [1, 2] });
  assert.equal(config.getString('db.host'), 'localhost');
  assert.equal(config.getNumber('db.port'), 5433);
  assert.equal(config.getBoolean('debug'), true);
  assert.equal(config.getNumber('db.timeoutMs', 3000), 3000, 'a default for a missing path');
  assert.equal(config.get('nope.deeper', 'fallback'), 'fallback');
  assert.throws(() => config.getNumber('mode'), (e) => e.code === 'FAILED_PRECONDITION');
  await config.close();
});

test('config: a file edit fires watch; an invalid one keeps the last good config and reports why', async () => {
  const path = join(dir, 'watched.json');
  writeJson(path, { port: 1000 });
  const config = await openConfig({
    sources: [object({ port: 1 }), file(path)],
    validate: (c) => (Number.isInteger(c.port) && c.port > 0) || 'port must be a positive integer',
  });
  const seen = [];
  const errors = [];
  config.watch('port', (value, previous) => seen.push([value, previous]));
  config.on('error', (e) => errors.push(e));
  writeJson(path, { port: 2000 });
  await waitFor(() => seen.length === 1, { timeoutMs: 5000, what: 'watch after the edit' });
  assert.deepEqual(seen, [[2000, 1000]]);
  writeJson(path, { port: -5 });  // fails validation
  await waitFor(() => errors.length === 1, { timeoutMs: 5000, what: 'the validation error' });
  assert.match(errors[0].message, /port must be a positive integer/);
  assert.equal(errors[0].code, 'INVALID_ARGUMENT');
  assert.equal(config.getNumber('port'), 2000, 'the last good value stays');
  writeJson(path, '{"port": 30');  // not JSON
  await waitFor(() => errors.some((e) => /watched\.json/.test(e.message)), { timeoutMs: 5000, what: 'the syntax error' });
  assert.equal(config.getNumber('port'), 2000);
  writeJson(path, { port: 3000 });
  await waitFor(() => seen.length === 2, { timeoutMs: 5000, what: 'watch after the fix' });
  assert.deepEqual(seen[1], [3000, 2000]);
  assert.equal(config.lastError, undefined, 'a good reload clears the error');
  await config.close();
});

test('config: the first load must be valid', async () => {
  await assert.rejects(openConfig({ sources: [{ port: 'x' }], validate: (c) => typeof c.port === 'number' || 'port must be a number' }),
    (e) => e.code === 'INVALID_ARGUMENT' && /port must be a number/.test(e.message));
});

test('config: a file edit and a replicated change reach running nodes in other processes', { timeout: 60_000 }, async () => {
  const script = fileURLToPath(new URL('./support/config-node.mjs', import.meta.url));
  const path = join(dir, 'app.json');
  writeJson(path, { greeting: 'from file' });
  const start = (name, bootstrap) => {
    const p = new ChildProcess(name, script, [JSON.stringify({ name, file: path, bootstrap })], {
      env: { ...process.env, NITRO_TEST_APP_LIMITS__RPS: '25' },
    });
    procs.push(p);
    return p;
  };
  const a = start('ca', []);
  const ra = await a.next((e) => e.ev === 'ready', 20000, 'ready');
  const b = start('cb', [ra.address]);
  const c = start('cc', [ra.address]);
  const ready = await Promise.all([b, c].map((p) => p.next((e) => e.ev === 'ready', 20000, 'ready')));
  for (const r of [ra, ...ready]) assert.deepEqual(r.config, { port: 8080, greeting: 'from file', limits: { rps: 25 } });
  const all = [a, b, c];
  await waitFor(async () => (await Promise.all(all.map((p) => p.request('state')))).every((s) => s.neighbors.length > 0),
    { timeoutMs: 15000, intervalMs: 100, what: 'an overlay of 3 processes' });
  const watched = (p, path, value) => p.events.some((e) => e.ev === 'watch' && e.path === path && JSON.stringify(e.value) === JSON.stringify(value));

  // A file edit: every process watching the file sees it.
  writeJson(path, { greeting: 'edited' });
  await waitFor(() => all.every((p) => watched(p, 'greeting', 'edited')), { timeoutMs: 10000, what: 'the file edit everywhere' });

  // A replicated change made in one process reaches the others and overrides the file.
  await a.request('set', { path: 'greeting', value: 'replicated' });
  await a.request('set', { path: 'port', value: 9090 });
  await waitFor(() => all.every((p) => watched(p, 'greeting', 'replicated') && watched(p, '', { port: 9090, greeting: 'replicated', limits: { rps: 25 } })),
    { timeoutMs: 15000, what: 'the replicated change everywhere' });
  for (const p of all) assert.deepEqual(await p.request('get').then(({ port, greeting, rps }) => ({ port, greeting, rps })), { port: 9090, greeting: 'replicated', rps: 25 });

  // An invalid replicated change: everyone reports it and keeps the last good values.
  const marks = all.map((p) => p.events.length);
  await b.request('set', { path: 'port', value: 70000 });
  await waitFor(() => all.every((p, i) => p.events.slice(marks[i]).some((e) => e.ev === 'config-error' && /port must be an integer/.test(e.message))),
    { timeoutMs: 15000, what: 'the error reported everywhere' });
  for (const p of all) assert.equal((await p.request('get')).port, 9090);
  // And an invalid file edit too.
  writeJson(path, '{ not json');
  await waitFor(() => all.every((p, i) => p.events.slice(marks[i]).some((e) => e.ev === 'config-error' && /app\.json/.test(e.message))),
    { timeoutMs: 10000, what: 'the file error reported everywhere' });
  for (const p of all) assert.equal((await p.request('get')).greeting, 'replicated');

  await Promise.all(all.map((p) => p.request('close')));
  const exits = await within(Promise.all(all.map((p) => p.exited)), 10000, 'exit after close()');
  for (const e of exits) assert.deepEqual(e, { code: 0, signal: null });
});
