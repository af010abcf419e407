// Doc-sync channel messages: the golden frames the Catch2 suite checks against the core's encoder
// (golden/docsync-frames.txt, derived by hand from the msgpack spec) are also what an independent
// msgpack library (@msgpack/msgpack) produces for the same messages, byte for byte, and what the
// package's own codec produces and reads back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { encode as mpEncode, decode as mpDecode } from '@msgpack/msgpack';
import { init, codec, docTopic, kDocSyncChannel } from '../js/dist/node.js';

await init();

const frames = Object.fromEntries(
  readFileSync(new URL('../golden/docsync-frames.txt', import.meta.url), 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(' '))
    .map(([name, hex]) => [name, Buffer.from(hex, 'hex')]),
);

const sv = new Uint8Array([0x13, 0x00]);
const messages = {
  vector_board: { k: 'sv', d: 'board', v: sv, a: true },
  vector_writers: { k: 'sv', d: 'b', v: sv, a: false, w: [new Uint8Array(32).fill(1)] },
  update_b: { k: 'up', d: 'b', u: new Uint8Array([1, 2, 3]) },
  part_b_1_of_2: { k: 'part', d: 'b', id: 7, i: 1, n: 2, b: new Uint8Array([0xff]) },
  gossip_payload: new Uint8Array([1, 2, 3]),
};

test('doc-sync golden frames: an independent msgpack encoder and the package codec agree byte for byte', () => {
  assert.deepEqual(Object.keys(frames).sort(), Object.keys(messages).sort());
  for (const [name, msg] of Object.entries(messages)) {
    const want = Buffer.from(frames[name]).toString('hex');
    assert.equal(Buffer.from(mpEncode(msg)).toString('hex'), want, `${name} (@msgpack/msgpack)`);
    assert.equal(Buffer.from(codec.encode(msg)).toString('hex'), want, `${name} (nitro codec)`);
    assert.deepEqual(codec.decode(frames[name]), msg, `${name} decodes back (nitro codec)`);
    assert.equal(Buffer.from(mpEncode(mpDecode(frames[name]))).toString('hex'), want, `${name} round-trips (@msgpack/msgpack)`);
  }
});

test('doc-sync names: the channel and the topic of a document', () => {
  assert.equal(kDocSyncChannel, 'doc.sync');
  assert.equal(docTopic('board'), 'doc/board');
});
