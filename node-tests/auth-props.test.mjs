// Property tests of capability tokens through the public API (the wasm core): random delegation
// chains built with issueToken/delegateToken verify with verifyToken exactly when an independent
// oracle says every link narrows, and no chain verifies after any byte of any of its tokens
// changes. The oracle is written here from the spec: NATS patterns as regular expressions, checked
// over a finite universe of names; ops equal or '*'; roles held by the parent; window inside.
// fast-check reports the seed and the counterexample; NITRO_SEED=<n> replays one seed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { init, Identity, issueToken, delegateToken, verifyToken } from '../js/dist/node.js';
import { testSeed } from './support/seed.mjs';

await init();

const params = (suite, numRuns) => ({ seed: testSeed(suite), numRuns, endOnFailure: true });
const keys = [0, 1, 2, 3, 4].map(() => {
  const id = Identity.generate();
  const k = { seed: id.exportSeed(), id: id.peerId };
  id.dispose();
  return k;
});
const authorities = [keys[0].id];
const kNow = 50_000;  // inside every generated window, so only the chain rules decide

// ---- the oracle -----------------------------------------------------------------------------------

function toRegex(pattern) {
  const re = pattern.split('.').map((t) => (t === '>' ? '[^.]+(\\.[^.]+)*' : t === '*' ? '[^.]+' : t)).join('\\.');
  return new RegExp(`^${re}$`);
}

// Names of 1..4 tokens over {a, b, z}: z is in no generated literal, so it stands for any other token.
const universe = (() => {
  let level = [''];
  const all = [];
  for (let len = 1; len <= 4; len++) {
    level = level.flatMap((p) => ['a', 'b', 'z'].map((t) => (p ? `${p}.${t}` : t)));
    all.push(...level);
  }
  return all;
})();

function patternCovers(parent, child) {
  const p = toRegex(parent), c = toRegex(child);
  return universe.every((name) => !c.test(name) || p.test(name));
}

const grantCovers = (p, c) => (p.op === '*' || p.op === c.op) && patternCovers(p.resource, c.resource);

function narrows(child, parent) {
  return child.grants.every((g) => parent.grants.some((pg) => grantCovers(pg, g))) &&
    child.roles.every((r) => parent.roles.includes(r)) &&
    child.notBeforeMs >= parent.notBeforeMs && child.expiresMs <= parent.expiresMs;
}

// ---- generators -----------------------------------------------------------------------------------

const tokenArb = fc.constantFrom('a', 'b', '*');
const patternArb = fc.tuple(fc.array(tokenArb, { minLength: 0, maxLength: 2 }), fc.constantFrom('a', 'b', '*', '>'))
  .map(([head, last]) => [...head, last].join('.'));
const grantArb = fc.record({ op: fc.constantFrom('rpc', 'publish', '*'), resource: patternArb });
const linkArb = fc.record({
  grants: fc.array(grantArb, { minLength: 1, maxLength: 3 }),
  // Mostly copies of parent grants (so that valid chains are common), sometimes fresh ones.
  copy: fc.array(fc.nat(), { maxLength: 3 }),
  roles: fc.subarray(['admin', 'ops', 'root']),
  notBeforeMs: fc.constantFrom(900, 1000, 1100),
  expiresMs: fc.constantFrom(99_900, 100_000, 100_100),
});
const chainArb = fc.array(linkArb, { minLength: 1, maxLength: 4 });

function build(links) {
  const specs = [];
  const tokens = [];
  links.forEach((l, i) => {
    const parent = specs[i - 1];
    const grants = parent ? [...l.copy.map((k) => parent.grants[k % parent.grants.length]), ...l.grants.slice(0, 1)] : l.grants;
    const spec = { grants, roles: i === 0 ? ['admin', 'ops'] : l.roles,
      notBeforeMs: i === 0 ? 1000 : l.notBeforeMs, expiresMs: i === 0 ? 100_000 : l.expiresMs };
    const options = { subject: keys[i + 1].id, ...spec };
    tokens.push(i === 0 ? issueToken(keys[0].seed, options) : delegateToken(keys[i].seed, tokens[i - 1], options));
    specs.push(spec);
  });
  const expect = specs.every((s, i) => i === 0 || narrows(s, specs[i - 1]));
  return { leaf: tokens.at(-1), bundle: tokens.slice(0, -1), expect };
}

test('any attenuation chain verifies only if every link narrows', () => {
  let valid = 0, invalid = 0;
  fc.assert(fc.property(chainArb, (links) => {
    const { leaf, bundle, expect } = build(links);
    const r = verifyToken(leaf, { bundle, authorities, nowMs: kNow });
    expect ? valid++ : invalid++;
    assert.equal(r.ok, expect, `verifyToken says ${JSON.stringify(r)}`);
  }), params('auth-props-chain', 300));
  console.log(`# ${valid} valid, ${invalid} invalid chains`);
  assert.ok(valid > 20 && invalid > 20, `both outcomes exercised: ${valid} valid, ${invalid} invalid`);
});

test('no chain verifies after any byte of any of its tokens changes', () => {
  fc.assert(fc.property(chainArb.filter((l) => l.length >= 2), fc.integer({ min: 1, max: 255 }), (links, xor) => {
    // A valid chain: the root's first grant, passed down unchanged.
    const { leaf, bundle, expect } = build(links.map((l, i) => ({ ...l, copy: [0], grants: i === 0 ? l.grants.slice(0, 1) : [],
      roles: [], notBeforeMs: 1000, expiresMs: 100_000 })));
    assert.ok(expect);
    assert.equal(verifyToken(leaf, { bundle, authorities, nowMs: kNow }).ok, true);
    const chain = [...bundle, leaf];
    chain.forEach((token, t) => {
      for (let i = 0; i < token.length; i++) {
        const bad = chain.map((x) => Uint8Array.from(x));
        bad[t][i] ^= xor;
        const r = verifyToken(bad.at(-1), { bundle: bad.slice(0, -1), authorities, nowMs: kNow });
        assert.equal(r.ok, false, `token ${t}, byte ${i} ^ ${xor} still verifies`);
      }
    });
  }), params('auth-props-flip', 6));
});
