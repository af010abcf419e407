// The wasm build runs BLS12-381 on our own field arithmetic (core/src/bls/fp384.h routed into
// blst, wasm only). Native tests compare that code with blst's assembly; this suite checks the
// wasm build itself end to end against an independent implementation, @noble/curves, on many
// seeded random keys and messages: public keys (scalar multiplication), signatures (hash to
// curve: square roots, inversions; compression), aggregation (point additions, decompression
// with subgroup checks) must be byte-identical, and verification (pairings) must accept them and
// reject a signature over another message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bls12_381 as noble } from '@noble/curves/bls12-381.js';
import { init, bls } from '../js/dist/node.js';

await init();

function rng(seed) {  // mulberry32: deterministic bytes from the seed
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0);
  };
  return (n) => Uint8Array.from({ length: n }, () => next() & 0xff);
}

const modes = [
  { sigGroup: 'G1', noble: noble.shortSignatures, dst: 'BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_', cases: 40 },
  { sigGroup: 'G2', noble: noble.longSignatures, dst: 'BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_', cases: 12 },
];

for (const m of modes) {
  test(`wasm BLS on ${m.sigGroup}: keys, signatures, aggregates byte-identical to @noble/curves (${m.cases} random cases)`, () => {
    const bytes = rng(m.sigGroup === 'G1' ? 1 : 2);
    const opts = { sigGroup: m.sigGroup };
    const sigs = [];
    for (let i = 0; i < m.cases; i++) {
      const { secretKey, publicKey } = bls.keyGen(bytes(32), opts);
      assert.deepEqual(publicKey, m.noble.getPublicKey(secretKey).toBytes(), `public key, case ${i}`);
      const msg = bytes(bytes(1)[0] % 100);
      const sig = bls.sign(secretKey, msg, opts);
      assert.deepEqual(sig, m.noble.sign(m.noble.hash(msg, m.dst), secretKey).toBytes(), `signature, case ${i}`);
      assert.equal(bls.verify(publicKey, msg, sig, opts), true, `verify, case ${i}`);
      const other = Uint8Array.from([...msg, 1]);
      assert.equal(bls.verify(publicKey, other, sig, opts), false, `verify other message, case ${i}`);
      sigs.push(sig);
    }
    const agg = bls.aggregate(sigs, m.sigGroup);
    assert.deepEqual(agg, m.noble.aggregateSignatures(sigs).toBytes());
  });
}
