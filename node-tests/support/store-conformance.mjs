// The key/value Store conformance suite, run over every engine (memory, file, IndexedDB in
// Chromium, PostgreSQL). Plain JS with no Node built-ins so the browser can import it too.
// Expectations are written out by hand or checked against a plain Map model (the oracle), never
// against another store engine.
//
// A harness is { open(): Store, clock: { now } }: open() returns a handle on one backing (a fresh
// one per case); called again after close() it reopens the same data. Stores take `now` from
// the harness's clock so TTLs are tested without waiting.

class Mismatch extends Error {}

function show(v) {
  if (v instanceof Uint8Array) return `bytes[${[...v].join(',')}]`;
  if (Array.isArray(v)) return `[${v.map(show).join(', ')}]`;
  if (v && typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${k}: ${show(x)}`).join(', ')}}`;
  return JSON.stringify(v) ?? String(v);
}

function eq(actual, expected, what) {
  if (show(actual) !== show(expected)) throw new Mismatch(`${what}: got ${show(actual)}, want ${show(expected)}`);
}

function ok(cond, what) {
  if (!cond) throw new Mismatch(what);
}

async function rejectsWith(promiseFn, code, what) {
  let error;
  try {
    await promiseFn();
  } catch (e) {
    error = e;
  }
  ok(error !== undefined, `${what}: did not reject`);
  eq(error.code, code, `${what}: error code`);
}

const bytes = (...xs) => new Uint8Array(xs);
const text = (s) => new TextEncoder().encode(s);

async function listAll(store, prefix, limit) {
  const entries = [];
  let cursor;
  let pages = 0;
  do {
    const page = await store.list(prefix, limit ? { limit, cursor } : { cursor });
    ok(!limit || page.entries.length <= limit, 'a page holds at most `limit` entries');
    entries.push(...page.entries);
    cursor = page.cursor;
    ok(++pages < 10_000, 'listing terminates');
  } while (cursor !== undefined);
  return entries;
}

// A small seeded PRNG (mulberry32) so the model test is the same on every engine and run.
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const storeCases = [
  ['read, write, overwrite, delete', async ({ open }) => {
    const s = open();
    eq(await s.read('a'), undefined, 'missing key');
    await s.write('a', bytes(1, 2, 3));
    eq(await s.read('a'), bytes(1, 2, 3), 'after write');
    await s.write('a', bytes(9));
    eq(await s.read('a'), bytes(9), 'after overwrite');
    await s.delete('a');
    eq(await s.read('a'), undefined, 'after delete');
    await s.delete('never-written'); // deleting a missing key is fine
    await s.close();
  }],

  ['values are copied in and out; empty, binary and 1 MiB values', async ({ open }) => {
    const s = open();
    const v = bytes(1, 2);
    await s.write('k', v);
    v[0] = 99;
    eq(await s.read('k'), bytes(1, 2), 'stored value unaffected by the caller mutating its array');
    (await s.read('k'))[0] = 77;
    eq(await s.read('k'), bytes(1, 2), 'stored value unaffected by mutating a returned array');
    await s.write('empty', new Uint8Array(0));
    eq(await s.read('empty'), new Uint8Array(0), 'empty value is present, not missing');
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    await s.write('all-bytes', all);
    eq(await s.read('all-bytes'), all, 'every byte value');
    const big = Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * 31) & 0xff);
    await s.write('big', big);
    const back = await s.read('big');
    eq(back.length, big.length, '1 MiB length');
    ok(back.every((x, i) => x === big[i]), '1 MiB content');
    await s.close();
  }],

  ['long, unicode and path-like keys', async ({ open }) => {
    const s = open();
    const keys = ['x'.repeat(2000), 'ünïcødé/🙂/键', 'a/b/../c', '', ' spaced key ', 'nul\u0000inside'];
    for (const [i, k] of keys.entries()) await s.write(k, bytes(i));
    for (const [i, k] of keys.entries()) eq(await s.read(k), bytes(i), `key ${JSON.stringify(k.slice(0, 20))}`);
    eq((await listAll(s, 'xxxx')).length, 1, 'the 2000-char key lists under its prefix');
    await s.close();
  }],

  ['list: prefix, key order, limit and cursor', async ({ open }) => {
    const s = open();
    const keys = ['b/2', 'a/1', 'b/10', 'b/1', 'c', 'b', 'bb/1', 'a/2'];
    for (const k of keys) await s.write(k, text(k));
    eq((await listAll(s, 'b/')).map(([k]) => k), ['b/1', 'b/10', 'b/2'], 'prefix b/ in key order');
    eq((await listAll(s, '')).map(([k]) => k), [...keys].sort(), "prefix '' lists every key, in order");
    eq((await listAll(s, 'zzz')), [], 'no match');
    for (const [k, v] of await listAll(s, '')) eq(v, text(k), `value listed with ${k}`);
    for (const limit of [1, 2, 3, 7, 8, 100]) {
      eq((await listAll(s, '', limit)).map(([k]) => k), [...keys].sort(), `paged by ${limit}`);
    }
    const first = await s.list('b', { limit: 2 });
    eq(first.entries.map(([k]) => k), ['b', 'b/1'], 'first page');
    ok(typeof first.cursor === 'string', 'a cursor when more follow');
    const last = await s.list('b', { limit: 10 });
    eq(last.cursor, undefined, 'no cursor when the page holds the rest');
    await rejectsWith(() => s.list('', { limit: 0 }), 'INVALID_ARGUMENT', 'limit 0');
    await s.close();
  }],

  ['list: a cursor stays valid while keys change between pages', async ({ open }) => {
    const s = open();
    for (let i = 0; i < 10; i++) await s.write(`k${i}`, bytes(i));
    const p1 = await s.list('k', { limit: 4 });
    eq(p1.entries.map(([k]) => k), ['k0', 'k1', 'k2', 'k3'], 'page 1');
    await s.delete('k3'); // the cursor's own key goes
    await s.delete('k4');
    await s.write('k35', bytes(35)); // a key after the cursor appears
    await s.write('k00', bytes(0)); // one before it does not show up later
    const rest = [];
    let cursor = p1.cursor;
    while (cursor !== undefined) {
      const p = await s.list('k', { limit: 4, cursor });
      rest.push(...p.entries.map(([k]) => k));
      cursor = p.cursor;
    }
    eq(rest, ['k35', 'k5', 'k6', 'k7', 'k8', 'k9'], 'the remaining pages');
    await s.close();
  }],

  ['batch: atomic ops applied in order, deletes without a value', async ({ open }) => {
    const s = open();
    await s.write('gone', bytes(1));
    await s.batch([
      { key: 'x', value: bytes(1) },
      { key: 'x' }, // put then delete: absent
      { key: 'y' },
      { key: 'y', value: bytes(2) }, // delete then put: present
      { key: 'z', value: bytes(3) },
      { key: 'z', value: bytes(4) }, // the last put wins
      { key: 'gone' },
    ]);
    eq(await s.read('x'), undefined, 'x');
    eq(await s.read('y'), bytes(2), 'y');
    eq(await s.read('z'), bytes(4), 'z');
    eq(await s.read('gone'), undefined, 'gone');
    await s.batch([]);
    await s.batch([{ key: 'one', value: bytes(1) }]);
    eq(await s.read('one'), bytes(1), 'single-op batch');
    await rejectsWith(() => s.batch([{ key: 'ok', value: bytes(1) }, { key: 7, value: bytes(1) }]), 'INVALID_ARGUMENT', 'a bad op');
    eq(await s.read('ok'), undefined, 'a rejected batch applies nothing');
    await s.close();
  }],

  ['TTL: an entry disappears when its time is up, for read and list', async ({ open, clock }) => {
    const s = open();
    await s.write('t/short', bytes(1), { ttlMs: 1000 });
    await s.write('t/long', bytes(2), { ttlMs: 5000 });
    await s.write('t/forever', bytes(3));
    clock.advance(999);
    eq(await s.read('t/short'), bytes(1), 'alive before its TTL');
    clock.advance(1);
    eq(await s.read('t/short'), undefined, 'gone at its TTL');
    eq((await listAll(s, 't/')).map(([k]) => k), ['t/forever', 't/long'], 'list skips the expired');
    await s.write('t/short', bytes(4));
    clock.advance(10_000);
    eq((await listAll(s, 't/')).map(([k]) => k), ['t/forever', 't/short'], 'a rewrite without TTL keeps it');
    await rejectsWith(() => s.write('t/bad', bytes(1), { ttlMs: -5 }), 'INVALID_ARGUMENT', 'negative ttl');
    await rejectsWith(() => s.write('t/bad', bytes(1), { ttlMs: NaN }), 'INVALID_ARGUMENT', 'NaN ttl');
    await s.close();
  }],

  ['bad arguments reject with INVALID_ARGUMENT', async ({ open }) => {
    const s = open();
    await rejectsWith(() => s.write(5, bytes(1)), 'INVALID_ARGUMENT', 'number key');
    await rejectsWith(() => s.write('k', 'text'), 'INVALID_ARGUMENT', 'string value');
    await rejectsWith(() => s.read(undefined), 'INVALID_ARGUMENT', 'undefined key');
    await rejectsWith(() => s.batch('nope'), 'INVALID_ARGUMENT', 'batch of a string');
    await s.close();
  }],

  ['data survives close and reopen', async ({ open }) => {
    const s = open();
    await s.write('p/1', bytes(1));
    await s.batch([{ key: 'p/2', value: bytes(2) }, { key: 'p/3', value: bytes(3) }]);
    await s.delete('p/1');
    await s.close();
    const again = open();
    eq(await listAll(again, 'p/'), [['p/2', bytes(2)], ['p/3', bytes(3)]], 'after reopen');
    await again.close();
  }],

  ['concurrent calls: writes, batches and document appends', async ({ open }) => {
    const s = open();
    await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2
      ? s.write(`c/${String(i).padStart(2, '0')}`, bytes(i))
      : s.batch([{ key: `c/${String(i).padStart(2, '0')}`, value: bytes(i) }]))));
    eq((await listAll(s, 'c/')).map(([, v]) => v[0]), Array.from({ length: 40 }, (_, i) => i), 'all 40 concurrent writes');
    // Appends started together each get their own slot, in call order.
    await Promise.all(Array.from({ length: 30 }, (_, i) => s.append('doc', bytes(i))));
    eq((await s.load('doc')).map((u) => u[0]), Array.from({ length: 30 }, (_, i) => i), 'concurrent appends');
    await Promise.all([s.append('doc', bytes(100)), s.compact('doc', bytes(200)), s.append('doc', bytes(101))]);
    eq((await s.load('doc')).map((u) => u[0]), [200, 101], 'append, compact, append');
    eq(await s.load('do'), [], 'a document name that prefixes another has its own log');
    await s.close();
  }],

  ['random operations agree with a Map model', async ({ open }) => {
    const s = open();
    const model = new Map();
    const rand = prng(18);
    const key = () => `m/${Math.floor(rand() * 40).toString(36)}`;
    for (let step = 0; step < 400; step++) {
      const r = rand();
      if (r < 0.4) {
        const k = key();
        const v = bytes(step & 0xff, step >> 8);
        await s.write(k, v);
        model.set(k, v);
      } else if (r < 0.55) {
        const k = key();
        await s.delete(k);
        model.delete(k);
      } else if (r < 0.7) {
        const ops = Array.from({ length: 1 + Math.floor(rand() * 5) }, () => (rand() < 0.7 ? { key: key(), value: bytes(step & 0xff) } : { key: key() }));
        await s.batch(ops);
        for (const op of ops) (op.value ? model.set(op.key, op.value) : model.delete(op.key));
      } else if (r < 0.85) {
        const k = key();
        eq(await s.read(k), model.get(k), `read ${k} at step ${step}`);
      } else {
        const prefix = `m/${Math.floor(rand() * 4).toString(36)}`;
        const want = [...model].filter(([k]) => k.startsWith(prefix)).sort(([a], [b]) => (a < b ? -1 : 1));
        eq(await listAll(s, prefix, 1 + Math.floor(rand() * 6)), want, `list ${prefix} at step ${step}`);
      }
    }
    await s.close();
  }],
];

/** A fake wall clock for the TTL case. */
export function fakeClock(start = 1_700_000_000_000) {
  let t = start;
  return { now: () => t, advance: (ms) => { t += ms; } };
}
