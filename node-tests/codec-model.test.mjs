// The codec's data model (js/src/codec.ts): values outside it are refused with a typed error
// instead of being encoded as maps of their enumerable keys, which would lose their meaning.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { codec, InvalidArgumentError, init } from '../js/dist/node.js';

await init();

test('codec: Date, Set, WeakMap, RegExp, class instances and non-Uint8Array views are refused', () => {
  class Point { constructor() { this.x = 1; } }
  const outside = [new Date(0), new Set([1]), new WeakMap(), /x/, new Point(), new Uint16Array(2),
    new Float64Array(1), new Int8Array(1), new DataView(new ArrayBuffer(2)), new ArrayBuffer(2), new Error('e'),
    Promise.resolve(1)];
  for (const v of outside) {
    assert.throws(() => codec.encode(v), (e) => e instanceof InvalidArgumentError && e.code === 'INVALID_ARGUMENT',
      Object.prototype.toString.call(v));
    assert.throws(() => codec.encode({ nested: [v] }), { code: 'INVALID_ARGUMENT' });
  }
});

test('codec: everything in the data model still encodes (msgpack bytes written out by hand)', () => {
  const hex = (b) => Buffer.from(b).toString('hex');
  assert.equal(hex(codec.encode({ a: 1 })), '81a16101');
  assert.equal(hex(codec.encode(Object.assign(Object.create(null), { a: 1 }))), '81a16101');
  assert.equal(hex(codec.encode(new Map([[1, 2]]))), '810102');
  assert.equal(hex(codec.encode(new Uint8Array([7]))), 'c40107');
  assert.equal(hex(codec.encode(Buffer.from([7]))), 'c40107');  // a Buffer is a Uint8Array
  assert.equal(hex(codec.encode([null, true, 'x'])), '93c0c3a178');
});
