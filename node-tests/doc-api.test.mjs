// The document API a Yjs user expects, through the public API: iteration, size and toJSON on maps,
// lists and sets; the `synced` signal of a replicated document (caught up with a peer, not only
// loaded); node.close() writing a replica's last local edits to its store before it returns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createNode, memory, MemoryNetwork, init, replicaOf, Doc } from '../js/dist/node.js';
import { waitFor, overlayConnected, within } from './support/wait.mjs';

await init();

test('maps, lists and sets iterate, have size and toJSON', () => {
  const doc = new Doc();
  const map = doc.getMap('m');
  map.set('b', 2);
  map.set('a', 1);
  const nested = map.setType('c', 'text');
  nested.insert(0, 'hi');
  assert.equal(map.size, 3);
  assert.deepEqual([...map].map(([k, v]) => [k, v === nested ? 'nested' : v]), [['a', 1], ['b', 2], ['c', 'nested']]);
  assert.deepEqual(map.keys(), ['a', 'b', 'c']);
  assert.deepEqual(map.values().slice(0, 2), [1, 2]);
  assert.deepEqual(map.entries()[0], ['a', 1]);
  const seen = [];
  map.forEach((v, k) => seen.push(k));
  assert.deepEqual(seen, ['a', 'b', 'c']);
  assert.deepEqual(map.toJSON(), { a: 1, b: 2, c: 'hi' });
  assert.equal(JSON.stringify(map), '{"a":1,"b":2,"c":"hi"}');

  const list = doc.getList('l');
  list.push('x', 'y');
  const inner = list.insertType(2, 'map');
  inner.set('k', true);
  assert.equal(list.size, 3);
  assert.equal(list.length, 3);
  assert.deepEqual([...list].slice(0, 2), ['x', 'y']);
  assert.equal([...list][2], inner);
  assert.deepEqual(list.map((v, i) => i), [0, 1, 2]);
  assert.deepEqual(list.slice(1, 2), ['y']);
  assert.deepEqual(list.toJSON(), ['x', 'y', { k: true }]);

  const text = doc.getText('t');
  text.insert(0, 'héllo');
  assert.equal(text.toString(), 'héllo');
  assert.equal(JSON.stringify({ text }), '{"text":"héllo"}');

  const set = doc.getSet('s');
  set.add(2);
  set.add(1);
  assert.deepEqual([...set].sort(), [1, 2]);
  assert.equal(set.size, 2);
  assert.deepEqual(doc.getCounter('c').toJSON(), 0);
});

async function pair() {
  const network = new MemoryNetwork();
  const a = await createNode({ name: 'sa', transport: memory({ network }) });
  const b = await createNode({ name: 'sb', transport: memory({ network }) });
  await waitFor(() => a.neighbors().length > 0 && overlayConnected([a, b]), { what: 'two linked nodes' });
  return [a, b];
}

test('a replicated doc is synced once it caught up with a peer, not when it was loaded', async () => {
  const [na, nb] = await pair();
  const a = na.doc('board');
  a.getText('t').insert(0, 'before b opened');
  assert.equal(a.isSynced, false);
  const b = nb.doc('board');
  assert.equal(b.isSynced, false);
  await within(b.synced, 10000, 'b synced');
  // synced means caught up: what a had when b asked is here
  assert.equal(b.getText('t').toString(), 'before b opened');
  await within(a.whenSynced(), 10000, 'a synced');
  await replicaOf(b).synced;
  // a standalone Doc never syncs; whenSynced honours its signal
  const lone = new Doc();
  const ac = new AbortController();
  const waiting = lone.whenSynced({ signal: ac.signal });
  ac.abort();
  await assert.rejects(waiting, { code: 'CANCELLED' });  // events.ts: an abort cancels the wait
  const pending = lone.synced;
  lone.destroy();
  await assert.rejects(pending, { code: 'UNAVAILABLE' });  // ... and a close settles it
  await Promise.all([na.close(), nb.close()]);
});

test('node.close() hands a replica\'s last edits to the store before it returns', async () => {
  const appended = [];
  const store = {
    async load() { return appended.slice(); },
    async append(name, update) { appended.push(update); },
    async compact(name, snapshot) { appended.splice(0, appended.length, snapshot); },
    async close() {},
  };
  const n1 = await createNode({ name: 'closer' });
  const doc = n1.doc('notes', { store });
  await replicaOf(doc).ready;
  doc.getText('t').insert(0, 'last words');  // queued for the core on a microtask
  await n1.close();                          // ... which close() must not lose
  assert.ok(appended.length > 0, 'the edit reached the store');
  const n2 = await createNode({ name: 'reopen' });
  const again = n2.doc('notes', { store });
  await replicaOf(again).ready;
  assert.equal(again.getText('t').toString(), 'last words');
  await n2.close();
});
