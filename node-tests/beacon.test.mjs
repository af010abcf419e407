// drand beacons through the wasm API and through the CLI, plus BLS/threshold helpers and typed
// errors. Vectors are read from ../shared/vectors/drand.json (the same file the Catch2 suite uses).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { bls12_381 as noble } from '@noble/curves/bls12-381.js';
import { init, Beacon, bls, threshold, NitroError } from '../js/dist/node.js';

await init();

const vectors = JSON.parse(readFileSync(new URL('../../shared/vectors/drand.json', import.meta.url), 'utf8'));
const chains = Object.entries(vectors.chains);
const cli = new URL('../js/dist/cli.js', import.meta.url).pathname;

function cliVerify(args) {
  const r = spawnSync(process.execPath, [cli, 'beacon', 'verify', ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout.trim(), err: r.stderr.trim() };
}

function cliArgs(chain, r) {
  const args = ['--scheme', chain.scheme, '--public-key', chain.public_key, '--round', String(r.round), '--signature', r.signature];
  if (r.previous_signature) args.push('--previous-signature', r.previous_signature);
  return args;
}

test('every drand beacon verifies through the wasm API, hex and bytes alike', () => {
  let n = 0;
  for (const [name, chain] of chains) {
    for (const r of chain.rounds) {
      const input = { scheme: chain.scheme, publicKey: chain.public_key, round: r.round, signature: r.signature, previousSignature: r.previous_signature };
      assert.deepEqual(Beacon.verify(input), { valid: true, randomness: r.randomness }, `${name} round ${r.round}`);
      const bytes = { ...input, publicKey: Buffer.from(chain.public_key, 'hex'), signature: new Uint8Array(Buffer.from(r.signature, 'hex')), round: BigInt(r.round) };
      assert.equal(Beacon.verify(bytes).valid, true);
      assert.equal(Beacon.verify({ ...input, round: r.round + 1 }).valid, false);
      n++;
    }
  }
  assert.ok(n >= 5);
});

test('every invalid drand entry is rejected through the wasm API', () => {
  let n = 0;
  for (const [, chain] of chains) {
    for (const r of chain.invalid ?? []) {
      const res = Beacon.verify({ scheme: chain.scheme, publicKey: chain.public_key, round: r.round, signature: r.signature, previousSignature: r.previous_signature });
      assert.equal(res.valid, false, r.why);
      n++;
    }
  }
  assert.ok(n >= 1);
});

test('every drand beacon verifies through the CLI; invalid ones exit 1', () => {
  for (const [, chain] of chains) {
    for (const r of chain.rounds) {
      const { code, out } = cliVerify(cliArgs(chain, r));
      assert.equal(code, 0);
      assert.deepEqual(JSON.parse(out), { round: r.round, randomness: r.randomness, valid: true });
    }
    for (const r of chain.invalid ?? []) {
      const { code, err } = cliVerify(cliArgs(chain, r));
      assert.equal(code, 1);
      assert.match(err, /does not verify/);
    }
  }
});

test('the CLI exits 2 on malformed input', () => {
  const q = vectors.chains.quicknet;
  const r = q.rounds[0];
  const base = cliArgs(q, r);
  const withArg = (name, value) => { const a = [...base]; a[a.indexOf(name) + 1] = value; return a; };
  assert.equal(cliVerify(withArg('--signature', 'zz' + r.signature.slice(2))).code, 2);             // bad hex
  assert.equal(cliVerify(withArg('--signature', r.signature.slice(0, 94))).code, 2);                // wrong length
  assert.equal(cliVerify(withArg('--signature', '8' + '0'.repeat(94) + '05')).code, 2);           // not on curve / group
  assert.equal(cliVerify(withArg('--public-key', vectors.chains.default.public_key)).code, 2);     // G1 key for a G2 scheme
  assert.equal(cliVerify(withArg('--scheme', 'nope')).code, 2);
  assert.equal(cliVerify(withArg('--round', '-3')).code, 2);
  assert.equal(cliVerify(base.slice(0, 6)).code, 2);                                                 // missing --signature
  const d = vectors.chains.default;
  assert.equal(cliVerify(cliArgs(d, { ...d.rounds[1], previous_signature: undefined })).code, 2);   // chained without previous
});

test('malformed input throws NitroError with INVALID_ARGUMENT or DECODE_ERROR', () => {
  const q = vectors.chains.quicknet;
  const input = { scheme: q.scheme, publicKey: q.public_key, round: 1, signature: q.rounds[0].signature };
  const code = (patch) => { try { Beacon.verify({ ...input, ...patch }); return 'none'; } catch (e) { assert.ok(e instanceof NitroError); return e.code; } };
  assert.equal(code({ signature: 'xyz' }), 'INVALID_ARGUMENT');
  assert.equal(code({ signature: q.rounds[0].signature.slice(2) }), 'DECODE_ERROR');
  assert.equal(code({ publicKey: new Uint8Array(96) }), 'DECODE_ERROR');
  assert.equal(code({ scheme: 'unknown' }), 'INVALID_ARGUMENT');
  assert.equal(code({ round: -1 }), 'INVALID_ARGUMENT');
  assert.equal(code({ round: 1.5 }), 'INVALID_ARGUMENT');
  assert.equal(code({ signature: 42 }), 'INVALID_ARGUMENT');
});

test('tokens match an independent HKDF-SHA256 computation', () => {
  const r1 = vectors.chains.quicknet.rounds[0];
  assert.equal(Beacon.token(r1.randomness, 1, 'lottery'), 'e7573b684283467b979386dbc4eee82a6fec7a052e3732a581381ec51913c498');
});

test('sign, verify, aggregate and proof of possession round trip', () => {
  for (const sigGroup of ['G1', 'G2']) {
    const keys = [1, 2, 3].map((i) => bls.keyGen(new Uint8Array(32).fill(i), { sigGroup }));
    const msg = 'hello nitro';
    const sigs = keys.map((k) => bls.sign(k.secretKey, msg, { sigGroup, pop: true }));
    keys.forEach((k, i) => assert.equal(bls.verify(k.publicKey, msg, sigs[i], { sigGroup, pop: true }), true));
    assert.equal(bls.verify(keys[0].publicKey, 'other', sigs[0], { sigGroup, pop: true }), false);
    const agg = bls.aggregate(sigs, sigGroup);
    assert.equal(bls.fastAggregateVerify(keys.map((k) => k.publicKey), msg, agg, { sigGroup }), true);
    const msgs = ['a', 'b', 'c'];
    const aggDistinct = bls.aggregate(keys.map((k, i) => bls.sign(k.secretKey, msgs[i], { sigGroup })), sigGroup);
    assert.equal(bls.aggregateVerify(keys.map((k) => k.publicKey), msgs, aggDistinct, { sigGroup }), true);
    const proof = bls.popProve(keys[0].secretKey, { sigGroup });
    assert.equal(bls.popVerify(keys[0].publicKey, proof, { sigGroup }), true);
    assert.equal(bls.popVerify(keys[1].publicKey, proof, { sigGroup }), false);
  }
});

test('signatures and keys are byte-identical to @noble/curves (both modes, basic and PoP DSTs)', () => {
  const sk = bls.keyGen(new Uint8Array(32).fill(5)).secretKey;
  const msg = new TextEncoder().encode('interop');
  const modes = [
    ['G1', noble.shortSignatures, 'BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_'],
    ['G2', noble.longSignatures, 'BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_'],
  ];
  for (const [sigGroup, mode, dst] of modes) {
    assert.deepEqual(bls.publicKey(sk, { sigGroup }), mode.getPublicKey(sk).toBytes());
    for (const pop of [false, true]) {
      const theirs = mode.sign(mode.hash(msg, dst + (pop ? 'POP_' : 'NUL_')), sk).toBytes();
      assert.deepEqual(bls.sign(sk, msg, { sigGroup, pop }), theirs, `${sigGroup} pop=${pop}`);
    }
  }
});

test('threshold: any t partials recover one signature that verifies like a drand beacon', () => {
  const d = threshold.deal(3, 5, new Uint8Array(32).fill(9), { sigGroup: 'G1' });
  const msg = Beacon.message('bls-unchained-g1-rfc9380', 42);
  const partials = d.shares.map((s) => threshold.partialSign(s, msg, { sigGroup: 'G1' }));
  for (const p of partials) assert.equal(threshold.partialVerify(d.commitments, p, msg, { sigGroup: 'G1' }), true);
  const a = threshold.recover(partials.slice(0, 3), 3, { sigGroup: 'G1' });
  const b = threshold.recover(partials.slice(2), 3, { sigGroup: 'G1' });
  assert.deepEqual(a, b);
  const res = Beacon.verify({ scheme: 'bls-unchained-g1-rfc9380', publicKey: d.groupPublicKey, round: 42, signature: a });
  assert.equal(res.valid, true);
  const t1 = Beacon.token(res.randomness, 42, 'raffle');
  assert.equal(t1, Beacon.token(res.randomness, 42, 'raffle'));
  assert.notEqual(t1, Beacon.token(res.randomness, 42, 'raffle-2'));
  assert.match(t1, /^[0-9a-f]{64}$/);
  assert.throws(() => threshold.recover(partials.slice(0, 2), 3, { sigGroup: 'G1' }), (e) => e.code === 'FAILED_PRECONDITION');
});
