// CRDT documents through the JS API: types, transactions and update events, convergence of
// several Docs, the shared editing traces replayed in wasm, and refused updates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { generateKeyPairSync } from 'node:crypto';
import { init, NitroError, DecodeError, Identity } from '../js/dist/node.js';
import { Doc } from '../js/dist/node.js';

await init();

const traces = new URL('../../shared/data/editing-traces/', import.meta.url);
const loadTrace = (name) => JSON.parse(gunzipSync(readFileSync(new URL(name, traces))).toString());

// An Ed25519 key pair in libsodium's layout: secret key = seed || public key.
function keypair() {
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' });
  const publicKey = new Uint8Array(Buffer.from(jwk.x, 'base64url'));
  const seed = new Uint8Array(Buffer.from(jwk.d, 'base64url'));
  return { publicKey, privateKey: new Uint8Array([...seed, ...publicKey]) };
}

function sync(a, b) {
  b.applyUpdate(a.encodeStateAsUpdate(b.encodeStateVector()));
  a.applyUpdate(b.encodeStateAsUpdate(a.encodeStateVector()));
}

function snapshot(doc) {
  return JSON.stringify({
    text: doc.getText('t').toString(),
    list: doc.getList('l').toArray(),
    map: doc.getMap('m').toJSON(),
    counter: doc.getCounter('c').value,
    set: doc.getSet('s').values(),
  });
}

test('text: insert, delete, UTF-16 positions like JS strings', () => {
  const doc = new Doc({ clientId: 1 });
  const t = doc.getText('t');
  t.insert(0, 'hello world');
  t.delete(0, 1);
  t.insert(0, 'H');
  t.insert(5, ',');
  assert.equal(t.toString(), 'Hello, world');
  let s = t.toString();
  const emoji = '😀é';
  t.insert(7, emoji);
  s = s.slice(0, 7) + emoji + s.slice(7);
  assert.equal(t.toString(), s);
  assert.equal(t.length, s.length);
  t.delete(8, 2); // the low surrogate and é, by UTF-16 index
  s = s.slice(0, 8) + s.slice(10);
  assert.equal(t.length, s.length);
  const odd = new Doc({ clientId: 3 }).getText('t'); // lone surrogates keep UTF-16 positions
  odd.insert(0, 'a\uD800b');
  odd.insert(3, '\uDC00!');
  assert.equal(odd.length, 5);
  assert.equal(odd.toString(), 'a\uFFFDb\uFFFD!');
  assert.throws(() => t.insert(1000, 'x'), (e) => e instanceof NitroError && e.code === 'INVALID_ARGUMENT');
  assert.throws(() => t.delete(-1, 1), (e) => e.code === 'INVALID_ARGUMENT');
  doc.destroy();
});

test('list, map, counter, set', () => {
  const doc = new Doc({ clientId: 1 });
  const l = doc.getList('l');
  l.push(1, 'two', { three: [3] });
  l.insert(0, [null, true]);
  l.delete(1);
  assert.deepEqual(l.toArray(), [null, 1, 'two', { three: [3] }]);
  assert.equal(l.get(2), 'two');
  assert.equal(l.length, 4);

  const m = doc.getMap('m');
  m.set('a', { nested: { deep: [1, 2, 3] } });
  m.set('b', new Uint8Array([1, 2]));
  m.set('a', 5);
  m.delete('b');
  assert.equal(m.get('a'), 5);
  assert.equal(m.get('b'), undefined);
  assert.equal(m.has('a'), true);
  assert.deepEqual(m.keys(), ['a']);
  assert.deepEqual(m.toJSON(), { a: 5 });

  const c = doc.getCounter('c');
  c.increment();
  c.increment(10);
  c.decrement(3);
  assert.equal(c.value, 8);

  const s = doc.getSet('s');
  s.add('x');
  s.add({ id: 1 });
  s.delete('x');
  assert.equal(s.has('x'), false);
  assert.equal(s.has({ id: 1 }), true);
  assert.equal(s.size, 1);

  const copy = new Doc({ clientId: 2 });
  copy.applyUpdate(doc.encodeState());
  assert.deepEqual(copy.getList('l').toArray(), l.toArray());
  assert.deepEqual(copy.getMap('m').toJSON(), m.toJSON());
  assert.equal(copy.getCounter('c').value, 8);
  assert.deepEqual(copy.getSet('s').values(), s.values());
});

test('nested types inside maps and lists', () => {
  const a = new Doc({ clientId: 1 });
  const board = a.getMap('board');
  const notes = board.setType('notes', 'text');
  notes.insert(0, 'todo');
  const cards = board.setType('cards', 'list');
  const card = cards.insertType(0, 'map');
  card.set('title', 'first');
  card.setType('votes', 'counter').increment(3);
  assert.equal(board.get('notes'), notes);
  assert.deepEqual(board.toJSON(), { cards: [{ title: 'first', votes: 3 }], notes: 'todo' });

  const b = new Doc({ clientId: 2 });
  b.applyUpdate(a.encodeState());
  const bCard = b.getMap('board').get('cards').get(0);
  bCard.set('done', true);
  b.getMap('board').get('notes').insert(4, '!');
  a.applyUpdate(b.encodeStateAsUpdate(a.encodeStateVector()));
  assert.deepEqual(a.getMap('board').toJSON(), { cards: [{ done: true, title: 'first', votes: 3 }], notes: 'todo!' });
  assert.throws(() => board.setType('x', 'nope'), (e) => e.code === 'INVALID_ARGUMENT');
});

test('transactions batch edits into one update event carrying the origin', () => {
  const a = new Doc({ clientId: 1 });
  const b = new Doc({ clientId: 2 });
  const seen = [];
  a.on('update', (update, origin) => seen.push({ update, origin }));
  const result = a.transact(() => {
    a.getText('t').insert(0, 'abc');
    a.getMap('m').set('k', 1);
    a.getCounter('c').increment(2);
    return 'done';
  }, 'my-origin');
  assert.equal(result, 'done');
  assert.equal(seen.length, 1);
  assert.equal(seen[0].origin, 'my-origin');
  a.getText('t').insert(3, 'd');
  assert.equal(seen.length, 2);
  assert.equal(seen[1].origin, null);

  const remote = [];
  b.on('update', (update, origin) => remote.push(origin));
  for (const { update } of seen) b.applyUpdate(update, 'peer-a');
  assert.deepEqual(remote, ['peer-a', 'peer-a']);
  b.applyUpdate(seen[0].update, 'peer-a'); // duplicate: applied, but nothing new to announce
  assert.equal(remote.length, 2);
  assert.equal(snapshot(b), snapshot(a));
});

test('five Docs converge with out-of-order, duplicated delivery', () => {
  let seed = 12345;
  const rand = (n) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const docs = Array.from({ length: 5 }, (_, i) => new Doc({ clientId: 100 + i }));
  const net = [];
  docs.forEach((d, i) => d.on('update', (u, origin) => {
    if (origin !== 'net') for (let j = 0; j < docs.length; j++) if (j !== i) net.push([j, u]);
  }));
  for (let step = 0; step < 600; step++) {
    const d = docs[rand(5)];
    const t = d.getText('t');
    switch (rand(6)) {
      case 0: case 1: t.insert(rand(t.length + 1), ['a', 'xy', 'ü', '😀'][rand(4)]); break;
      case 2: if (t.length) { const p = rand(t.length); t.delete(p, Math.min(2, t.length - p)); } break;
      case 3: d.getMap('m').set('k' + rand(3), rand(100)); break;
      case 4: d.getCounter('c').increment(rand(5)); break;
      default:
        if (net.length) {
          const i = rand(net.length);
          const [to, u] = net[i];
          if (rand(4)) net.splice(i, 1);
          docs[to].applyUpdate(u, 'net');
        }
    }
  }
  while (net.length) {
    const [to, u] = net.splice(rand(net.length), 1)[0];
    docs[to].applyUpdate(u, 'net');
  }
  const expect = snapshot(docs[0]);
  for (const d of docs) assert.equal(snapshot(d), expect);
  const late = new Doc();
  sync(docs[3], late);
  assert.equal(snapshot(late), expect);
});

for (const name of ['automerge-paper.json.gz', 'seph-blog1.json.gz']) {
  test(`trace ${name} replays to endContent in wasm`, () => {
    const trace = loadTrace(name);
    const doc = new Doc({ clientId: 1 });
    const t = doc.getText('text');
    for (const txn of trace.txns) {
      for (const [pos, del, ins] of txn.patches) {
        if (del) t.delete(pos, del);
        if (ins) t.insert(pos, ins);
      }
    }
    assert.equal(t.toString(), trace.endContent);
    const loaded = new Doc({ clientId: 2 });
    loaded.applyUpdate(doc.encodeState());
    assert.equal(loaded.getText('text').toString(), trace.endContent);
    doc.destroy();
    loaded.destroy();
  });
}

test('bad updates are typed errors and leave the doc unchanged', () => {
  const a = new Doc({ clientId: 1 });
  a.getText('t').insert(0, 'hello');
  a.getMap('m').set('k', [1, 2]);
  const good = a.encodeState();
  const b = new Doc({ clientId: 2 });
  b.getText('t').insert(0, 'mine');
  const before = b.encodeState();
  for (let n = 0; n < good.length; n++) {
    assert.throws(() => b.applyUpdate(good.subarray(0, n)), (e) => e instanceof DecodeError && e.code === 'DECODE_ERROR');
  }
  const wrongVersion = good.slice();
  wrongVersion[0] = 7;
  assert.throws(() => b.applyUpdate(wrongVersion), (e) => e.code === 'DECODE_ERROR');
  assert.throws(() => b.applyUpdate('nope'), TypeError);
  assert.deepEqual(b.encodeState(), before);
  assert.equal(b.getText('t').toString(), 'mine');
});

test('signed updates: writers are restricted, forgeries refused', () => {
  const alice = keypair();
  const mallory = keypair();
  const writers = [alice.publicKey];
  const a = new Doc({ signer: alice.privateKey, writers });
  const m = new Doc({ signer: mallory.privateKey });
  const reader = new Doc({ writers });
  const updates = [];
  a.on('update', (u) => updates.push(u));
  a.getText('t').insert(0, 'from alice');
  reader.applyUpdate(updates[0]);
  assert.equal(reader.getText('t').toString(), 'from alice');
  const before = reader.encodeState();

  m.getText('t').insert(0, 'evil');
  assert.throws(() => reader.applyUpdate(m.encodeState()), (e) => e.code === 'PERMISSION_DENIED');
  const forged = updates[0].slice();
  forged[forged.length - 1] ^= 1;
  assert.throws(() => reader.applyUpdate(forged), (e) => e.code === 'UNAUTHENTICATED');
  assert.throws(() => reader.getText('t').insert(0, 'x'), (e) => e.code === 'PERMISSION_DENIED');
  assert.deepEqual(reader.encodeState(), before);

  const viaIdentity = new Doc({ signer: Identity.fromSeed(alice.privateKey.subarray(0, 32)), writers });
  assert.equal(viaIdentity.clientId, a.clientId);
  viaIdentity.applyUpdate(reader.encodeState());
  const fromIdentity = [];
  viaIdentity.on('update', (u) => fromIdentity.push(u));
  viaIdentity.getText('t').insert(0, '> ');
  // a fresh replica id would be safer; here the same key continues alice's clock after syncing
  reader.applyUpdate(fromIdentity[0]);
  assert.equal(reader.getText('t').toString(), '> from alice');

  const late = new Doc({ writers }); // catches up from the reader's relayed signed updates
  late.applyUpdate(reader.encodeStateAsUpdate(late.encodeStateVector()));
  assert.equal(late.getText('t').toString(), '> from alice');
});
