// UndoManager through the public API: scoped to types and tracked origins, capture timeout,
// undo/redo stacks and their events, and undo under concurrent remote edits, compared with Yjs's
// UndoManager (node_modules) running the same script.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as Y from 'yjs';
import { init, Doc, UndoManager } from '../js/dist/node.js';
import { testSeed, seededRandom } from './support/seed.mjs';

await init();

test('undo and redo of text, list and map; stacks and events', () => {
  const doc = new Doc({ clientId: 1 });
  const text = doc.getText('t'), list = doc.getList('l'), map = doc.getMap('m');
  const um = new UndoManager([text, list, map], { captureTimeout: 0 });
  const events = [];
  um.on('stack-item-added', (e) => events.push(['added', e.type]));
  um.on('stack-item-popped', (e) => events.push(['popped', e.type]));

  text.insert(0, 'hello');
  text.insert(5, ' world');
  text.delete(0, 1);
  list.push('a', 'b');
  map.set('k', 1);
  map.set('k', 2);
  assert.equal(um.undoStack.length, 6);

  um.undo();
  assert.equal(map.get('k'), 1);
  um.undo();
  assert.equal(map.has('k'), false);
  um.undo();
  assert.deepEqual(list.toArray(), []);
  um.undo();
  assert.equal(text.toString(), 'hello world');
  um.undo();
  assert.equal(text.toString(), 'hello');
  assert.equal(um.redoStack.length, 5);
  um.redo();
  assert.equal(text.toString(), 'hello world');
  um.redo();
  assert.equal(text.toString(), 'ello world');
  um.redo();
  assert.deepEqual(list.toArray(), ['a', 'b']);
  um.redo();
  um.redo();
  assert.equal(map.get('k'), 2);
  assert.equal(um.canRedo(), false);
  assert.equal(um.redo(), null);
  assert.deepEqual(events.slice(0, 8), [
    ['added', 'undo'], ['added', 'undo'], ['added', 'undo'], ['added', 'undo'], ['added', 'undo'], ['added', 'undo'],
    ['added', 'redo'], ['popped', 'undo'],
  ]);
  // a new change clears the redo stack
  um.undo();
  text.insert(0, 'x');
  assert.equal(um.canRedo(), false);
  um.destroy();
});

test('capture timeout merges close edits; untracked origins and other types are left alone', () => {
  const doc = new Doc({ clientId: 1 });
  const text = doc.getText('t'), other = doc.getText('other');
  let now = 1000;
  const um = new UndoManager(text, { captureTimeout: 500, now: () => now, trackedOrigins: new Set([null, 'user']) });
  text.insert(0, 'a');
  now += 100;
  doc.transact(() => text.insert(1, 'b'), 'user');
  now += 100;
  text.insert(2, 'c');
  now += 1000;  // a pause: a new stack item
  text.insert(3, 'd');
  doc.transact(() => text.insert(4, 'Z'), 'robot');  // untracked origin
  other.insert(0, 'elsewhere');                       // out of scope
  assert.equal(um.undoStack.length, 2);
  um.undo();
  assert.equal(text.toString(), 'abcZ');
  um.undo();
  assert.equal(text.toString(), 'Z');
  assert.equal(other.toString(), 'elsewhere');
  // stopCapturing splits even within the timeout
  text.insert(1, 'x');
  um.stopCapturing();
  text.insert(2, 'y');
  assert.equal(um.undoStack.length, 2);
  // typed then deleted within one capture: undo does not resurrect what the same item inserted
  const um2 = new UndoManager(other, { captureTimeout: 10_000, now: () => now });
  other.insert(0, 'qq');
  other.delete(0, 3);
  um2.undo();
  assert.equal(other.toString(), 'elsewhere');
});

test('undo leaves concurrent remote edits alone', () => {
  const a = new Doc({ clientId: 1 }), b = new Doc({ clientId: 2 });
  const sync = () => {
    b.applyUpdate(a.encodeStateAsUpdate(b.encodeStateVector()));
    a.applyUpdate(b.encodeStateAsUpdate(a.encodeStateVector()));
  };
  const ta = a.getText('t');
  const um = new UndoManager(ta, { captureTimeout: 0 });
  ta.insert(0, 'mine ');
  sync();
  b.getText('t').insert(5, 'theirs');  // after ours
  b.getText('t').insert(0, '>');       // before ours
  sync();
  assert.equal(ta.toString(), '>mine theirs');
  um.undo();
  assert.equal(ta.toString(), '>theirs');
  um.redo();
  assert.equal(ta.toString(), '>mine theirs');
  // remote edits are not tracked even with a tracked origin
  assert.equal(um.undoStack.length, 1);
});

// Yjs's UndoManager on the same script: a tracked local editor and a remote editor whose edits land
// between, before and after the tracked ones; undos and redos at random. Texts (and the list) must
// match after every step. Edits come in windows of one writer, each window synced as one update:
// concurrent inserts at one place are ordered differently by the two libraries (different
// tombstone sides), which would make the texts differ for reasons unrelated to undo.
test('undo and redo match Yjs under concurrent edits', () => {
  const seed = testSeed('doc-undo-yjs');
  let undos = 0;
  for (let run = 0; run < 3; run++) undos += compareWithYjs(seed + run);
  assert.ok(undos > 20, `${undos} undos compared`);
});

// One scripted run; returns how many undos were compared before the end (or a tie).
function compareWithYjs(seed) {
  const rand = seededRandom(seed);
  const pick = (n) => Math.floor(rand() * n);
  const n = [new Doc({ clientId: 1 }), new Doc({ clientId: 2 })];
  const y = [new Y.Doc(), new Y.Doc()];
  y[0].clientID = 1; y[1].clientID = 2;
  const num = new UndoManager([n[0].getText('t'), n[0].getList('l')], { captureTimeout: 0 });
  const yum = new Y.UndoManager([y[0].getText('t'), y[0].getArray('l')], { captureTimeout: 0 });
  let undos = 0;
  try {
    let writer = 0, left = 0;
    for (let step = 0; step < 300; step++) {
      if (left === 0) { writer = pick(3) === 0 ? 1 : 0; left = 1 + pick(4); }
      const i = writer;
      const t = n[i].getText('t'), yt = y[i].getText('t');
      const l = n[i].getList('l'), ya = y[i].getArray('l');
      const undoable = i === 0 ? 7 : 5;  // undo/redo are the local editor's
      switch (--left === 0 ? 7 : pick(undoable)) {
        case 0: case 1: { const p = pick(t.length + 1), s = 'abcd'.slice(0, 1 + pick(4)); t.insert(p, s); yt.insert(p, s); break; }
        case 2: if (t.length) { const p = pick(t.length), k = 1 + pick(Math.min(3, t.length - p)); t.delete(p, k); yt.delete(p, k); } break;
        case 3: { const p = pick(l.length + 1); l.insert(p, [step]); ya.insert(p, [step]); break; }
        case 4: if (l.length) { const p = pick(l.length); l.delete(p, 1); ya.delete(p, 1); } break;
        case 5: num.undo(); yum.undo(); undos++; break;
        case 6: num.redo(); yum.redo(); break;
        default:
          for (const [from, to] of [[0, 1], [1, 0]]) {
            n[to].applyUpdate(n[from].encodeStateAsUpdate(n[to].encodeStateVector()));
            Y.applyUpdate(y[to], Y.encodeStateAsUpdate(y[from], Y.encodeStateVector(y[to])), 'remote');
          }
      }
      // Texts and lists must equal Yjs's exactly. One difference is allowed, as the end of the run:
      // where a restored run lands among adjacent concurrent inserts and tombstones is a tie the
      // libraries break differently (Yjs re-links the old neighbours, Nitro inserts at the
      // tombstones' index); then the same characters must be there, and the run stops (positional
      // edits after it would hit different characters).
      let tie = false;
      for (let k = 0; k < 2; k++) {
        const nt = n[k].getText('t').toString(), yt = y[k].getText('t').toString();
        const nl = n[k].getList('l').toArray(), yl = y[k].getArray('l').toArray();
        if (nt === yt && JSON.stringify(nl) === JSON.stringify(yl)) continue;
        assert.equal([...nt].sort().join(''), [...yt].sort().join(''), `text ${k} at step ${step}`);
        assert.deepEqual([...nl].sort(), [...yl].sort(), `list ${k} at step ${step}`);
        tie = true;
      }
      if (tie) break;
      assert.equal(num.undoStack.length, yum.undoStack.length, `undo stack at step ${step}`);
      assert.equal(num.redoStack.length, yum.redoStack.length, `redo stack at step ${step}`);
    }
    return undos;
  } catch (e) {
    e.message += ` (reproduce with NITRO_SEED=${seed})`;
    throw e;
  }
}
