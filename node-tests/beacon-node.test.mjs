// node.beacon(...): the threshold BLS beacon on memory-transport nodes. Rounds verify with
// Beacon.verify against the group key like drand beacons, keep coming with n - t members closed,
// and give the same tokens on every node; DKG mode agrees on one group key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createNode, memory, MemoryNetwork, Beacon, threshold, toHex, init } from '../js/dist/node.js';
import { waitFor, overlayConnected } from './support/wait.mjs';

await init();

async function cluster(count, prefix) {
  const network = new MemoryNetwork();
  const nodes = [];
  for (let i = 0; i < count; i++) nodes.push(await createNode({ name: `${prefix}${i}`, transport: memory({ network }) }));
  await waitFor(() => nodes.every((n) => n.neighbors().length > 0) && overlayConnected(nodes), { what: 'overlay' });
  return nodes;
}

function watch(beacon) {
  const rounds = new Map();
  beacon.on('round', (r) => rounds.set(r.round, r));
  return rounds;
}

const PERIOD_MS = 400;
const SCHEME = 'pedersen-bls-chained';

test('beacon-node: 5 nodes t=3 (dealer) produce verified rounds, survive 2 closed, tokens agree', async () => {
  const nodes = await cluster(5, 'bd');
  const group = nodes.map((n) => n.id);
  const dealer = threshold.deal(3, 5, new Uint8Array(32).fill(7));
  const genesisMs = Date.now() + 300;
  const beacons = nodes.map((n) => n.beacon({ group, threshold: 3, periodMs: PERIOD_MS, genesisMs, dealer }));
  assert.deepEqual(beacons[0].groupPublicKey, dealer.groupPublicKey);
  assert.deepEqual(new Set(beacons.map((b) => b.index)), new Set([1, 2, 3, 4, 5]));
  const seen = beacons.map(watch);
  await waitFor(() => seen.every((m) => m.size >= 3), { what: '3 rounds on every node', timeoutMs: 8000 });
  const publicKey = toHex(dealer.groupPublicKey);
  for (const [round, r] of seen[0]) {
    const res = Beacon.verify({ scheme: SCHEME, publicKey, round, signature: r.signature, previousSignature: r.previousSignature });
    assert.equal(res.valid, true, `round ${round}`);
    assert.equal(res.randomness, r.randomness);
  }
  const common = [...seen[0].keys()].find((k) => seen.every((m) => m.has(k)));
  assert.ok(common !== undefined);
  const tokens = new Set(beacons.map((b) => b.token(common, 'lottery')));
  assert.equal(tokens.size, 1);
  assert.notEqual(beacons[0].token(common, 'lottery'), beacons[0].token(common, 'other'));
  assert.equal(beacons[1].latest().round >= common, true);

  // Close two members: the other three (= t) keep producing rounds.
  await Promise.all([nodes[3].close(), nodes[4].close()]);
  const before = Math.max(...seen[0].keys());
  await waitFor(() => seen.slice(0, 3).every((m) => Math.max(...m.keys()) >= before + 3), {
    what: 'rounds with two members closed', timeoutMs: 8000,
  });
  for (const round of [before + 1, before + 2, before + 3]) {
    const sigs = new Set(seen.slice(0, 3).map((m) => m.get(round) && toHex(m.get(round).signature)));
    assert.equal(sigs.size, 1, `round ${round} agreed`);
    const r = seen[0].get(round);
    assert.equal(Beacon.verify({ scheme: SCHEME, publicKey, round, signature: r.signature, previousSignature: r.previousSignature }).valid, true);
  }
  beacons[0].close();
  const frozen = seen[0].size;
  await new Promise((resolve) => setTimeout(resolve, 2 * PERIOD_MS));
  assert.equal(seen[0].size, frozen, 'a closed beacon emits no more rounds');
  await Promise.all(nodes.slice(0, 3).map((n) => n.close()));
});

test('beacon-node: DKG mode agrees on one group key and its rounds verify', async () => {
  const nodes = await cluster(4, 'bk');
  const group = nodes.map((n) => n.id);
  const startMs = Date.now() + 200;
  const phaseMs = 300;
  const genesisMs = startMs + 6 * phaseMs + 100;  // three DKG stages of 2 relay rounds (4 members, t = 3)
  const scheme = 'pedersen-bls-unchained';
  const beacons = nodes.map((n) => n.beacon({ group, threshold: 3, periodMs: PERIOD_MS, genesisMs, scheme, dkg: { startMs, phaseMs } }));
  const seen = beacons.map(watch);
  await waitFor(() => seen.every((m) => m.size >= 2), { what: '2 rounds after the DKG', timeoutMs: 8000 });
  const keys = new Set(beacons.map((b) => toHex(b.groupPublicKey)));
  assert.equal(keys.size, 1);
  const publicKey = [...keys][0];
  for (const [round, r] of seen[1]) {
    assert.equal(Beacon.verify({ scheme, publicKey, round, signature: r.signature }).valid, true, `round ${round}`);
  }
  await Promise.all(nodes.map((n) => n.close()));
});

test('beacon-node: bad options are refused', async () => {
  const [a, b] = await cluster(2, 'bx');
  const dealer = threshold.deal(2, 2, new Uint8Array(32).fill(1));
  assert.throws(() => a.beacon({ group: [a.id, b.id], threshold: 2, periodMs: 100 }), { code: 'INVALID_ARGUMENT' });
  assert.throws(() => a.beacon({ group: [b.id], threshold: 1, periodMs: 100, dealer }), { code: 'INVALID_ARGUMENT' });
  assert.throws(() => a.beacon({ group: [a.id, b.id], threshold: 3, periodMs: 100, dealer }), { code: 'INVALID_ARGUMENT' });
  assert.throws(() => a.beacon({ group: [a.id, 'nope'], threshold: 2, periodMs: 100, dealer }), { code: 'INVALID_ARGUMENT' });
  await Promise.all([a.close(), b.close()]);
});
