// Documents, shared types and the UndoManager follow the one event convention (js/src/events.ts):
// `on` returns its `off`; `once` resolves with the next event (a tuple when listeners take
// several arguments), rejects with CANCELLED on abort and with UNAVAILABLE when the owner closes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Doc, UndoManager, init } from '../js/dist/node.js';

await init();

test('a shared type: on/off is observe/unobserve, once resolves with (event, transaction)', async () => {
  const doc = new Doc();
  const t = doc.getText('t');
  const seen = [];
  const off = t.on('change', (ev, txn) => seen.push([ev.delta, txn.origin]));
  const viaObserve = [];
  const unobserve = t.observe((ev) => viaObserve.push(ev.delta));
  const next = t.once('change');
  doc.transact(() => t.insert(0, 'ab'), 'me');
  const [event, txn] = await next;
  assert.deepEqual(event.delta, [{ insert: 'ab' }]);
  assert.deepEqual([txn.origin, txn.local], ['me', true]);
  off();
  unobserve();
  t.insert(2, 'c');
  assert.deepEqual(seen, [[[{ insert: 'ab' }], 'me']]);
  assert.deepEqual(viaObserve, [[{ insert: 'ab' }]]);
  assert.equal(t.listenerCount('change'), 0);

  const deep = doc.getMap('m').once('deepChange');
  doc.getMap('m').set('k', 1);
  const [events] = await deep;
  assert.deepEqual([...events[0].keys], [['k', { action: 'add' }]]);
  doc.destroy();
});

test('once: abort cancels, destroy settles pending waits with UNAVAILABLE', async () => {
  const doc = new Doc();
  const t = doc.getText('t');
  const ac = new AbortController();
  const aborted = t.once('change', { signal: ac.signal });
  ac.abort();
  await assert.rejects(aborted, { code: 'CANCELLED' });
  const onType = t.once('change');
  const onDoc = doc.once('update');
  const synced = doc.whenSynced();
  doc.destroy();
  await assert.rejects(onType, { code: 'UNAVAILABLE' });
  await assert.rejects(onDoc, { code: 'UNAVAILABLE' });
  await assert.rejects(synced, { code: 'UNAVAILABLE' });
  await assert.rejects(doc.once('update'), { code: 'UNAVAILABLE' });  // and later ones at once
});

test('UndoManager: stack events through on/once; destroy settles waiters', async () => {
  const doc = new Doc();
  const t = doc.getText('t');
  const um = new UndoManager(t, { captureTimeout: 0 });
  const added = um.once('stack-item-added');
  t.insert(0, 'x');
  assert.equal((await added).type, 'undo');
  const popped = [];
  const off = um.on('stack-item-popped', (ev) => popped.push(ev.type));
  um.undo();
  um.redo();
  off();
  um.undo();
  assert.deepEqual(popped, ['undo', 'redo']);
  assert.equal(t.toString(), '');
  const pending = um.once('stack-item-added');
  um.destroy();
  await assert.rejects(pending, { code: 'UNAVAILABLE' });
  doc.destroy();
});

test('an observer that throws: the caller gets its error, yet other observers, undo and update run', () => {
  const doc = new Doc();
  const t = doc.getText('t');
  const um = new UndoManager(t, { captureTimeout: 0 });
  const updates = [];
  const after = [];
  doc.on('update', (u) => updates.push(u));
  t.observe(() => { throw new Error('observer bug'); });
  t.observe((ev) => after.push(ev.delta));
  assert.throws(() => t.insert(0, 'ab'), /observer bug/);
  assert.equal(t.toString(), 'ab');                 // the edit itself stands
  assert.deepEqual(after, [[{ insert: 'ab' }]]);    // the next observer still ran
  assert.equal(updates.length, 1);                  // replicas and stores still get the update
  assert.equal(um.undoStack.length, 1);             // and the UndoManager captured it
  const copy = new Doc();
  copy.applyUpdate(updates[0]);
  assert.equal(copy.getText('t').toString(), 'ab');
  doc.destroy();
  copy.destroy();
});
