// postgresStore against a real PostgreSQL server (a private cluster started and stopped here):
// the Store conformance suite, and a writer SIGKILLed mid-write loses no acknowledged write.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { postgresStore } from '../js/dist/store-postgres.js';
import { storeCases, fakeClock } from './support/store-conformance.mjs';
import { crashRounds } from './support/store-crash.mjs';
import { postgresMissing, startPostgres } from './support/postgres.mjs';

const skip = postgresMissing();
let server;
before(async () => {
  if (!skip) server = await startPostgres();
});
after(async () => server?.stop());

let tables = 0;
const harness = () => {
  const clock = fakeClock();
  const table = `conf_${++tables}`;
  return { clock, open: () => postgresStore(server.url, { table, now: clock.now }) };
};

for (const [name, run] of storeCases) test(`postgresStore conformance: ${name}`, { skip }, () => run(harness()));

test('postgresStore: an unreachable server rejects with UNAVAILABLE', { skip }, async () => {
  const store = postgresStore('postgres://nitro@127.0.0.1:1/postgres');
  await assert.rejects(store.read('k'), (e) => e.code === 'UNAVAILABLE');
  await store.close();
});

test('postgresStore: SIGKILL mid-write loses no acknowledged write and tears no batch', { skip, timeout: 300_000 }, async () => {
  const last = await crashRounds('postgres', server.url, () => postgresStore(server.url), [[5, 0], [12, 0.1], [9, 0.2], [15, 0.3], [7, 0.4], [11, 0.5], [6, 0.6], [10, 0.7], [8, 0.8], [9, 0.9], [7, 1], [6, 1.3]]);
  assert.ok(last > 60);
});

test('postgresStore: expired rows are deleted by the sweep that rides on writes', { skip }, async () => {
  const clock = fakeClock();
  const store = postgresStore(server.url, { table: 'sweep', now: clock.now });
  await store.write('old', new Uint8Array([1]), { ttlMs: 1000 });
  await store.write('keep', new Uint8Array([2]));
  clock.advance(61_000);
  await store.write('new', new Uint8Array([3]));
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  try {
    const { rows } = await client.query("SELECT convert_from(key, 'UTF8') AS key FROM sweep ORDER BY key");
    assert.deepEqual(rows.map((r) => r.key), ['keep', 'new']);
  } finally {
    await client.end();
    await store.close();
  }
});
