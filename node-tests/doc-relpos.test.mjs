// Relative positions (cursor anchors) through the public API: created from an index, sent as JSON
// to another replica, resolved after concurrent edits; compared with Yjs's relative positions on
// the same concurrent script (node_modules/yjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as Y from 'yjs';
import { init, Doc } from '../js/dist/node.js';
import { testSeed, seededRandom } from './support/seed.mjs';

await init();

test('a cursor stays on its character through edits before and after it', () => {
  const doc = new Doc({ clientId: 3 });
  const t = doc.getText('t');
  t.insert(0, 'hello world');
  const before = t.relativePosition(6);        // right of the cursor: 'w'
  const after = t.relativePosition(6, -1);     // left of the cursor: ' '
  const end = t.relativePosition(t.length);
  const start = t.relativePosition(0, -1);
  assert.deepEqual(JSON.parse(JSON.stringify(before)), before);  // plain JSON
  t.insert(0, '>> ');
  t.insert(t.length, '!');
  assert.equal(t.resolveRelativePosition(before), 9);
  assert.equal(t.resolveRelativePosition(after), 9);
  assert.equal(t.resolveRelativePosition(end), t.length);
  assert.equal(t.resolveRelativePosition(start), 0);
  t.delete(8, 2);  // removes ' w': both anchors collapse to where they were
  assert.equal(t.resolveRelativePosition(before), 8);
  assert.equal(t.resolveRelativePosition(after), 8);
  // an anchor from another replica that this one has not seen yet resolves to null
  const other = new Doc({ clientId: 4 });
  other.getText('t').insert(0, 'x');
  assert.equal(t.resolveRelativePosition(other.getText('t').relativePosition(0)), null);
  // lists too
  const l = doc.getList('l');
  l.push(1, 2, 3);
  const p = l.relativePosition(2);
  l.insert(0, [0]);
  assert.equal(l.resolveRelativePosition(p), 3);
  assert.throws(() => t.relativePosition(t.length + 1), { code: 'INVALID_ARGUMENT' });
});

// Windows of one writer, each synced as one update: both libraries then hold the same text (fully
// concurrent inserts at one place are ordered differently by the two; see the oracle test below).
test('relative positions match Yjs across replicas', () => {
  const seed = testSeed('doc-relpos-yjs');
  const rand = seededRandom(seed);
  const pick = (n) => Math.floor(rand() * n);
  const n = [new Doc({ clientId: 1 }), new Doc({ clientId: 2 })];
  const y = [new Y.Doc(), new Y.Doc()];
  y[0].clientID = 1; y[1].clientID = 2;
  const syncAll = () => {
    for (const [from, to] of [[0, 1], [1, 0]]) {
      n[to].applyUpdate(n[from].encodeStateAsUpdate(n[to].encodeStateVector()));
      Y.applyUpdate(y[to], Y.encodeStateAsUpdate(y[from], Y.encodeStateVector(y[to])));
    }
  };
  n[0].getText('t').insert(0, 'the quick brown fox');
  y[0].getText('t').insert(0, 'the quick brown fox');
  syncAll();
  const cursors = [];
  let checked = 0;
  try {
    let writer = 0, left = 0;
    for (let step = 0; step < 400; step++) {
      if (left === 0) { writer = pick(2); left = 1 + pick(4); }
      const i = writer;
      const t = n[i].getText('t'), yt = y[i].getText('t');
      switch (--left === 0 ? 5 : pick(5)) {
        case 0: case 1: { const p = pick(t.length + 1), s = 'ab'.slice(0, 1 + pick(2)); t.insert(p, s); yt.insert(p, s); break; }
        case 2: if (t.length) { const p = pick(t.length), k = 1 + pick(Math.min(4, t.length - p)); t.delete(p, k); yt.delete(p, k); } break;
        case 3: {
          const index = pick(t.length + 1), assoc = pick(2) ? 0 : -1;
          cursors.push({ owner: i, nitro: t.relativePosition(index, assoc), yjs: Y.createRelativePositionFromTypeIndex(yt, index, assoc) });
          break;
        }
        default: syncAll();
      }
      for (const c of cursors) {
        for (let k = 0; k < 2; k++) {
          const yabs = Y.createAbsolutePositionFromRelativePosition(c.yjs, y[k]);
          const mine = n[k].getText('t').resolveRelativePosition(c.nitro);
          assert.equal(mine === null, yabs === null, `known at ${k}, step ${step}`);
          // A deleted anchor resolves to its tombstone's place, and where a later insert lands
          // relative to adjacent tombstones is an implementation choice (Yjs's even depends on its
          // search markers): compared only while the anchored unit lives.
          const known = c.yjs.item && Y.getState(y[k].store, c.yjs.item.client) > c.yjs.item.clock;
          if (known && Y.isDeleted(Y.createDeleteSetFromStructStore(y[k].store), c.yjs.item)) continue;
          assert.equal(mine, yabs ? yabs.index : null, `cursor made at ${c.owner}, resolved at ${k}, step ${step}`);
          checked++;
        }
      }
    }
    assert.equal(n[0].getText('t').toString(), y[0].getText('t').toString());
    assert.ok(checked > 500);
  } catch (e) {
    e.message += ` (reproduce with NITRO_SEED=${seed})`;
    throw e;
  }
});

// Fully concurrent edits on three replicas, an independent oracle: a list of unique values, so the
// element an anchor points at is known; while it survives, the anchor resolves next to it (right of
// the cursor: its index; left of the cursor: its index + 1) on every replica, whatever was inserted
// or deleted around it concurrently.
test('anchors follow their element under concurrent edits on three replicas', () => {
  const seed = testSeed('doc-relpos-oracle');
  const rand = seededRandom(seed);
  const pick = (n) => Math.floor(rand() * n);
  const docs = [new Doc({ clientId: 5 }), new Doc({ clientId: 6 }), new Doc({ clientId: 7 })];
  const anchors = [];
  let next = 0, checked = 0;
  try {
    for (let step = 0; step < 500; step++) {
      const d = docs[pick(3)];
      const l = d.getList('l');
      switch (pick(5)) {
        case 0: case 1: l.insert(pick(l.length + 1), [next++, next++].slice(0, 1 + pick(2))); break;
        case 2: if (l.length) l.delete(pick(l.length), 1); break;
        case 3: if (l.length) {
          const index = pick(l.length), assoc = pick(2) ? 0 : -1;
          const value = l.get(index);
          anchors.push({ value, assoc, pos: l.relativePosition(assoc < 0 ? index + 1 : index, assoc) });
        } break;
        default: {
          const [a, b] = [pick(3), pick(3)];
          docs[b].applyUpdate(docs[a].encodeStateAsUpdate(docs[b].encodeStateVector()));
        }
      }
      for (const doc of docs) {
        const values = doc.getList('l').toArray();
        for (const { value, assoc, pos } of anchors) {
          const at = values.indexOf(value);
          const got = doc.getList('l').resolveRelativePosition(pos);
          if (got === null) continue;  // not received here yet
          if (at < 0) { assert.ok(got >= 0 && got <= values.length); continue; }
          assert.equal(got, assoc < 0 ? at + 1 : at, `anchor on ${value} (assoc ${assoc}) at step ${step}`);
          checked++;
        }
      }
    }
    assert.ok(checked > 5000);
  } catch (e) {
    e.message += ` (reproduce with NITRO_SEED=${seed})`;
    throw e;
  }
});
