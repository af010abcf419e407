// The codec through the public package: golden frames shared with the Catch2 suite, interop
// with @msgpack/msgpack both ways, and typed errors for malformed frames.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { encode as mpEncode, decode as mpDecode } from '@msgpack/msgpack';
import { init, codec, DecodeError, NitroError } from '../js/dist/node.js';

await init();

// The same named values as native-tests/codec_values.h.
const golden = {
  nil: null,
  true: true,
  false: false,
  zero: 0,
  fixint_127: 127,
  uint8_200: 200,
  uint16_65535: 65535,
  uint32_max: 4294967295,
  uint64_max: 18446744073709551615n,
  'negfix_-32': -32,
  'int8_-128': -128,
  'int16_-32768': -32768,
  int32_min: -2147483648,
  int64_min: -9223372036854775808n,
  'float_1.5': 1.5,
  'float_-1e300': -1e300,
  str_empty: '',
  str_utf8: 'héllo ✓',
  str8_40: 'x'.repeat(40),
  bytes_3: new Uint8Array([1, 2, 3]),
  array_mixed: [1, 'a', null],
  map_nested: { a: 1, b: [true] },
  map_empty: {},
};

const frames = readFileSync(new URL('../golden/codec-frames.txt', import.meta.url), 'utf8')
  .trim().split('\n').map((line) => line.split(' '));

test('golden frames: encode byte for byte and decode back', () => {
  assert.equal(frames.length, Object.keys(golden).length);
  for (const [name, hex] of frames) {
    assert.ok(name in golden, `unknown golden frame ${name}`);
    assert.equal(Buffer.from(codec.encode(golden[name])).toString('hex'), hex, name);
    assert.deepEqual(codec.decode(Buffer.from(hex, 'hex')), golden[name], name);
  }
});

test('interop: @msgpack/msgpack decodes what Nitro encodes, and the reverse', () => {
  const values = [
    { id: 7, name: 'order', tags: ['a', 'b'], price: 12.5, paid: false, note: null },
    [1, -1, 255, 65536, -70000, 2 ** 40, 'ü', new Uint8Array([9, 8])],
    { nested: { deeper: { list: [[], {}, [{ x: 1 }]] } } },
  ];
  for (const v of values) {
    assert.deepEqual(mpDecode(codec.encode(v)), v);
    assert.deepEqual(codec.decode(mpEncode(v)), v);
    assert.deepEqual(Buffer.from(codec.encode(v)), Buffer.from(mpEncode(v)));
  }
  const big = mpEncode(2n ** 63n, { useBigInt64: true });
  assert.equal(codec.decode(big), 2n ** 63n);
});

test('non-string map keys decode to a Map', () => {
  const m = new Map([[1, 'one'], ['two', 2]]);
  assert.deepEqual(codec.decode(codec.encode(m)), m);
});

test('malformed frames throw DecodeError with code DECODE_ERROR', () => {
  const bad = {
    empty: [],
    truncated: [0x82, 0xa1, 0x61],
    trailing: [0xc0, 0xc0],
    reserved: [0xc1],
    'str32 2^32-1 claim': [0xdb, 0xff, 0xff, 0xff, 0xff, 0x61],
    'array32 2^32-1 claim': [0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0],
    'map32 2^32-1 claim': [0xdf, 0xff, 0xff, 0xff, 0xff, 0xc0],
    'ext32 2^32-1 claim': [0xc9, 0xff, 0xff, 0xff, 0xff, 0x01],
    '10,000-deep nesting': [...new Array(10000).fill(0x91), 0xc0],
  };
  for (const [name, bytes] of Object.entries(bad)) {
    assert.throws(() => codec.decode(new Uint8Array(bytes)), (err) => {
      assert.ok(err instanceof DecodeError, name);
      assert.ok(err instanceof NitroError, name);
      assert.equal(err.code, 'DECODE_ERROR', name);
      return true;
    });
  }
  // Every truncation of a valid frame is an error, and the instance keeps working afterwards.
  const full = codec.encode({ a: [1, 2, { b: 'c' }] });
  for (let n = 0; n < full.length; n++) assert.throws(() => codec.decode(full.subarray(0, n)), DecodeError);
  assert.deepEqual(codec.decode(full), { a: [1, 2, { b: 'c' }] });
});

test('values outside the data model are INVALID_ARGUMENT', () => {
  assert.throws(() => codec.encode(() => 1), (err) => err.code === 'INVALID_ARGUMENT');
  assert.throws(() => codec.encode(2n ** 64n), (err) => err.code === 'INVALID_ARGUMENT');
});

test('init is idempotent', async () => {
  const [a, b] = await Promise.all([init(), init()]);
  assert.equal(a, b);
});

test('decoding a Buffer copies: bins and cached keys never alias the input', () => {
  const input = Buffer.from(codec.encode({ key: new Uint8Array([1, 2, 3]) }));
  const first = codec.decode(input);
  assert.ok(!(first.key instanceof Buffer), 'a plain Uint8Array');
  input.fill(0x61, input.length - 3);  // overwrite the bin's bytes in the input
  assert.deepEqual([...first.key], [1, 2, 3]);
  const again = Buffer.from(codec.encode({ key: 1 }));
  assert.deepEqual(codec.decode(again), { key: 1 });
  again[2] = 0x6a;  // "key" -> "kjy" in the input after decoding: the cached key must not change
  assert.deepEqual(codec.decode(Buffer.from(codec.encode({ key: 2 }))), { key: 2 });
});

test('limits match the core codec: 64 nested containers decode, 65 do not', () => {
  const nested = (n) => new Uint8Array([...new Array(n).fill(0x91), 0xc0]);
  assert.ok(codec.decode(nested(64)));
  assert.throws(() => codec.decode(nested(65)), (err) => err.code === 'DECODE_ERROR');
});
