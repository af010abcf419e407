// The RPC batch splitter (js/src/rpc-batch.ts) against an independent oracle: a reference LEB128
// parser written here with BigInt arithmetic. Seeded fast-check properties: any sequence of frames
// batched by FrameBatcher splits back to the same frames in order; any bytes (random, or a valid
// batch with bytes flipped, cut or appended) split exactly as the oracle says, or are refused with
// DECODE_ERROR before a single frame is delivered. Seed: NITRO_SEED, else from NITRO_COMMIT.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FrameBatcher, splitFrames } from '../js/dist/rpc-batch.js';
import { testSeed } from './support/seed.mjs';

const seed = testSeed('rpc-batch');
const params = { seed, numRuns: 1000, endOnFailure: true };

// The oracle: [varint length][frame]..., a varint of at most 5 bytes, every frame inside the message.
function oracleSplit(message) {
  const frames = [];
  let pos = 0;
  while (pos < message.length) {
    let length = 0n;
    let digits = 0;
    for (;;) {
      if (pos >= message.length || digits === 5) return null;
      const b = message[pos++];
      length |= BigInt(b & 0x7f) << BigInt(7 * digits++);
      if ((b & 0x80) === 0) break;
    }
    if (length > BigInt(message.length - pos)) return null;
    frames.push([...message.subarray(pos, pos + Number(length))]);
    pos += Number(length);
  }
  return frames;
}

function split(message) {
  const got = [];
  try {
    splitFrames(message, (f) => got.push([...f]));
    return got;
  } catch (e) {
    assert.equal(e.code, 'DECODE_ERROR');
    assert.equal(got.length, 0, 'nothing delivered from a refused batch');
    return null;
  }
}

const frames = fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 });

test(`rpc batch: what FrameBatcher batches splits back to the same frames (seed ${seed}, replay with NITRO_SEED=${seed})`, async () => {
  await fc.assert(fc.asyncProperty(frames, async (list) => {
    const messages = [];
    const batcher = new FrameBatcher((peer, m) => messages.push(m.slice()), () => assert.fail('write failed'));
    for (const f of list) batcher.push('p', f);
    await Promise.resolve();  // the batch leaves on the next microtask
    batcher.flush();
    const out = messages.flatMap((m) => {
      const parsed = oracleSplit(m);
      assert.ok(parsed, 'the oracle parses every batch');
      assert.deepEqual(split(m), parsed);
      return parsed;
    });
    assert.deepEqual(out, list.map((f) => [...f]));
  }), params);
});

function encode(list) {
  const out = [];
  for (const f of list) {
    let n = f.length;
    while (n >= 0x80) { out.push((n & 0x7f) | 0x80); n = Math.floor(n / 128); }
    out.push(n, ...f);
  }
  return Uint8Array.from(out);
}

const mutated = fc.tuple(frames, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
  fc.nat({ max: 8 }), fc.uint8Array({ maxLength: 6 })).map(([list, flips, cut, tail]) => {
  const bytes = encode(list);
  for (const [at, b] of flips) if (bytes.length) bytes[at % bytes.length] = b;
  const kept = bytes.subarray(0, Math.max(0, bytes.length - cut));
  return Uint8Array.from([...kept, ...tail]);
});

test(`rpc batch: any bytes split as the oracle says or are refused whole (seed ${seed}, replay with NITRO_SEED=${seed})`, () => {
  fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), mutated), (bytes) => {
    assert.deepEqual(split(bytes), oracleSplit(bytes));
  }), params);
});
