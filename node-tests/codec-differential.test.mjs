// js/src/msgpack.ts against something independent: the core's C++ codec (msgpack-c, through the
// wasm binding codecEncode/codecDecode). Seeded fast-check properties: for any value of the data
// model both encoders produce the same bytes and each decodes the other's; for any bytes (random,
// or a valid frame with bytes flipped, cut or appended) both decoders accept or refuse alike, and
// what they accept is the same value. Seed: NITRO_SEED, else derived from NITRO_COMMIT; a failure
// prints the seed and the counterexample (fast-check's report).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { init, codec } from '../js/dist/node.js';
import { getModule } from '../js/dist/wasm.js';
import { testSeed } from './support/seed.mjs';

await init();
const core = getModule();
const seed = testSeed('codec-differential');
const runs = 2000;
const params = { seed, numRuns: runs, endOnFailure: true };

const isError = (v) => v !== null && typeof v === 'object' && v.__nitroError === true;

// The data model both sides share: maps with string keys as plain objects (Map keys are covered by
// golden frames), integers as numbers within 2^53 or as BigInt beyond, doubles, strings, bytes.
const leaf = fc.oneof(
  fc.constant(null), fc.boolean(),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 }), fc.maxSafeInteger(), fc.maxSafeNat(),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }).filter((b) => b < -(2n ** 53n) || b > 2n ** 53n),
  fc.double({ noNaN: true }).filter((d) => !Number.isInteger(d)),
  fc.string({ maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 10 }),
  fc.uint8Array({ maxLength: 40 }),
);
const value = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, fc.array(tie('v'), { maxLength: 5 }),
    fc.dictionary(fc.string({ maxLength: 8 }), tie('v'), { maxKeys: 5 })),
})).v;

function coreEncode(v) {
  const out = core.codecEncode(v);
  assert.ok(!isError(out), `core refused to encode: ${out?.message}`);
  return out;
}

// A decoded value compared across the two decoders: integers may come back as number or BigInt.
function normal(v) {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) && BigInt(Number(v)) === v ? Number(v) : v;
  if (v instanceof Uint8Array) return { bin: [...v] };
  if (Array.isArray(v)) return v.map(normal);
  if (v instanceof Map) return { map: [...v].map(([k, x]) => [normal(k), normal(x)]) };
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normal(x)]));
  return v;
}

function jsDecode(bytes) {
  try {
    return { ok: true, value: codec.decode(bytes) };
  } catch (e) {
    assert.equal(e.code, 'DECODE_ERROR', `JS decoder threw ${e.code ?? e}`);
    return { ok: false };
  }
}

function coreDecode(bytes) {
  const out = core.codecDecode(bytes);
  if (isError(out)) {
    assert.equal(out.code, 'DECODE_ERROR');
    return { ok: false };
  }
  return { ok: true, value: out };
}

test(`codec differential: JS and core encoders agree byte for byte (seed ${seed}, replay with NITRO_SEED=${seed})`, () => {
  fc.assert(fc.property(value, (v) => {
    const js = codec.encode(v);
    assert.deepEqual([...js], [...coreEncode(v)]);
    assert.deepEqual(normal(codec.decode(js)), normal(core.codecDecode(js)));
  }), params);
});

const mutated = fc.tuple(value, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
  fc.nat(), fc.uint8Array({ maxLength: 4 })).map(([v, flips, cut, tail]) => {
  const bytes = codec.encode(v);
  for (const [at, b] of flips) if (bytes.length) bytes[at % bytes.length] = b;
  const kept = bytes.subarray(0, bytes.length - (cut % 3 === 0 ? cut % (bytes.length + 1) : 0));
  const out = new Uint8Array(kept.length + tail.length);
  out.set(kept);
  out.set(tail, kept.length);
  return out;
});

// A str (alone, or as a map key) whose body is random bytes, biased toward multi-byte lead and
// continuation bytes: mostly ill-formed UTF-8, sometimes well-formed.
const utf8ish = fc.oneof(fc.integer({ min: 0x80, max: 0xff }), fc.integer({ min: 0, max: 0x7f }), fc.constantFrom(0xed, 0xf4, 0xe0, 0xf0));
const strOfBytes = fc.tuple(fc.array(utf8ish, { maxLength: 12 }), fc.boolean()).map(([body, asKey]) => {
  const str = [0xa0 | body.length, ...body];
  return Uint8Array.from(asKey ? [0x81, ...str, 0xc0] : str);
});

test('codec differential: both decoders refuse ill-formed UTF-8 in a str with DECODE_ERROR', () => {
  // Unicode Table 3-7 cases: surrogate, overlong, above U+10FFFF, truncated; then a valid one.
  for (const hex of ['a3eda080', 'a2c0af', 'a4f4908080', 'a2e282', 'a1ff']) {
    const bytes = Buffer.from(hex, 'hex');
    assert.equal(jsDecode(bytes).ok, false, hex);
    assert.equal(coreDecode(bytes).ok, false, hex);
  }
  assert.equal(core.codecDecode(Buffer.from('a4f09f9880', 'hex')), '\u{1F600}');
});

test(`codec differential: JS and core decoders accept and refuse alike (seed ${seed}, replay with NITRO_SEED=${seed})`, () => {
  fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), mutated, strOfBytes), (bytes) => {
    const js = jsDecode(bytes);
    const cpp = coreDecode(bytes);
    assert.equal(js.ok, cpp.ok, `accept/refuse differs for ${Buffer.from(bytes).toString('hex')}`);
    if (js.ok) assert.deepEqual(normal(js.value), normal(cpp.value));
  }), params);
});
