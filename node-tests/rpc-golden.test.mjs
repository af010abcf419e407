// RPC golden frames and link messages (golden/rpc-frames.txt, shared with the Catch2 suite):
// each frame is rebuilt here from the wire layout in core/include/nitro/rpc.h with an independent
// msgpack library (@msgpack/msgpack) and must match byte for byte; link messages are rebuilt from
// the layout in core/include/nitro/rpc_batch.h. Then what the wasm core really sends is read back
// with the same independent decoder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { encode as mpEncode, decode as mpDecode } from '@msgpack/msgpack';
import { init } from '../js/dist/node.js';
import { Rpc } from '../js/dist/rpc.js';

const golden = Object.fromEntries(readFileSync(new URL('../golden/rpc-frames.txt', import.meta.url), 'utf8')
  .split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(' ')));
const hex = (b) => Buffer.from(b).toString('hex');
const bytes = (...parts) => Uint8Array.from(parts.flatMap((p) => [...p]));
function varint(n) {
  const out = [];
  while (n >= 0x80) { out.push((n & 0x7f) | 0x80); n = Math.floor(n / 128); }
  out.push(n);
  return out;
}

const frames = {
  request_unary: [1, 1, 7, 'greeter', 'Greeter.Hello', { trace: 't1' }, 1500, 0, 0, 0, 16, mpEncode({ name: 'x' })],
  request_bidi_idempotent: [1, 1, 2 ** 40 + 5, '', 'A.B', {}, 0, 1, 1, 3, 1024, new Uint8Array(0)],
  response_ok: [1, 2, 7, 0, '', null, {}, 0, mpEncode({ msg: 'hi x' })],
  response_error: [1, 2, 9, 7, 'no', { why: 'x' }, { k: 'v' }, 3, new Uint8Array(0)],
  stream_msg: [1, 3, 7, 1, 300, Uint8Array.of(1, 2, 3)],
  stream_end: [1, 4, 7, 0, 40],
  credit: [1, 5, 7, 1, 32],
  cancel: [1, 6, 7],
  cancel_deadline: [1, 6, 7, 4],
};

test('RPC golden frames: the wire layout through an independent msgpack encoder, byte for byte', () => {
  for (const [name, fields] of Object.entries(frames)) {
    assert.equal(hex(mpEncode(fields)), golden[name], name);
  }
});

test('RPC golden link messages: coalesced frames and direct advertisements, byte for byte', () => {
  const cancel = mpEncode(frames.cancel);
  const credit = mpEncode(frames.credit);
  assert.equal(hex(bytes([0], varint(cancel.length), cancel, varint(credit.length), credit)), golden.link_frames);
  const big = mpEncode([1, 3, 7, 1, 0, Uint8Array.from({ length: 200 }, (_, i) => i)]);
  assert.equal(hex(bytes([0], varint(big.length), big)), golden.link_long_frame);
  const ad = mpEncode([1, new TextEncoder().encode('abc'), 30000, [['greeter', {}]]]);
  assert.equal(hex(bytes([1], ad)), golden.link_advertisement);
});

test('RPC over a link: the wasm core sends one link message per peer per step, in the golden layout', async () => {
  await init();
  const sent = [];
  const link = { id: 'cli', send: (peer, message) => sent.push([peer, message.slice()]), onMessage() {}, onPeerDown() {} };
  const rpc = new Rpc(link, { seed: 1 });
  const calls = [0, 1, 2].map((i) => rpc.call('svc', 'Greeter.Hello', { i }, { peer: 'srv', timeoutMs: 60000, metadata: { k: 'v' } }));
  for (const c of calls) c.catch(() => undefined);
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(sent.length, 1, 'three calls in one microtask: one link message');
  const [peer, message] = sent[0];
  assert.equal(peer, 'srv');
  assert.equal(message[0], 0);  // a frames message
  let pos = 1;
  const decoded = [];
  while (pos < message.length) {
    const n = message[pos++];  // each frame here is shorter than 128 bytes: a one-byte varint
    decoded.push(mpDecode(message.subarray(pos, pos + n)));
    pos += n;
  }
  assert.equal(decoded.length, 3);
  decoded.forEach((f, i) => {
    const [version, type, , service, method, metadata, deadline, content, flags, kind, window, payload] = f;
    assert.deepEqual([version, type, service, method, metadata, deadline, content, flags, kind, window],
      [1, 1, 'svc', 'Greeter.Hello', { k: 'v' }, 60000, 0, 0, 0, 0]);
    assert.deepEqual(mpDecode(payload), { i });
  });
  rpc.close();
});
