// node.consensus(...): the BFT chain on 4 memory-transport validators. Txs submitted on any node
// resolve at commit with the op's result on every node; a handler's thrown NitroError reaches
// the submitter with its code; a proof read on one node verifies with the standalone light-client
// verifier against the validator set alone, and a tampered proof does not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createNode, memory, MemoryNetwork, NitroError, chainKeys, verifyRead, init } from '../js/dist/node.js';
import { waitFor, overlayConnected } from './support/wait.mjs';

await init();

async function validators(count, prefix) {
  const network = new MemoryNetwork();
  const nodes = [];
  for (let i = 0; i < count; i++) nodes.push(await createNode({ name: `${prefix}${i}`, transport: memory({ network }) }));
  await waitFor(() => nodes.every((n) => n.neighbors().length > 0) && overlayConnected(nodes), { what: 'overlay' });
  const keys = nodes.map((_, i) => chainKeys(new Uint8Array(32).fill(i + 1)));
  const set = nodes.map((n, i) => ({ id: n.id, blsPublicKey: keys[i].blsPublicKey, blsPop: keys[i].blsPop }));
  const chains = nodes.map((n, i) => n.consensus({ name: 'bank', validators: set, blsSecretKey: keys[i].blsSecretKey, timeoutMs: 500 }));
  return { nodes, chains, set };
}

function transfer(state, args) {
  const from = state.get(args.from) ?? 0;
  if (from < args.amount) throw new NitroError('FAILED_PRECONDITION', 'insufficient funds');
  state.put(args.from, from - args.amount);
  state.put(args.to, (state.get(args.to) ?? 0) + args.amount);
  return { ok: true };
}

test('consensus: 4 validators commit kv and app txs, results and errors reach the submitter, proofs verify', async () => {
  const { nodes, chains, set } = await validators(4, 'cv');
  for (const c of chains) c.register('transfer', transfer);
  const commits = [];
  chains[0].on('commit', (ev) => commits.push(ev));

  const put = await chains[1].submit('kv.put', { key: 'alice', value: 100 });
  assert.ok(put.height >= 1);
  assert.equal(typeof put.result.revision, 'number');
  const t = await chains[2].submit('transfer', { from: 'alice', to: 'bob', amount: 30 });
  assert.deepEqual(t.result, { ok: true });
  assert.ok(t.height > put.height);
  await assert.rejects(chains[3].submit('transfer', { from: 'bob', to: 'carol', amount: 999 }),
    (e) => e instanceof NitroError && e.code === 'FAILED_PRECONDITION' && /insufficient/.test(e.message));
  await assert.rejects(chains[0].submit('kv.cas', { key: 'alice', value: 1, expectRevision: 12345 }),
    (e) => e instanceof NitroError && e.code === 'FAILED_PRECONDITION');

  // Submits made in one task travel as one signed bundle; each still resolves with its own
  // result, in order, and a failing one (a stale cas) rejects alone.
  const burst = await Promise.allSettled([
    chains[1].submit('kv.put', { key: 'x', value: 1 }),
    chains[1].submit('kv.cas', { key: 'x', value: 2, expect: 999 }),
    chains[1].submit('kv.put', { key: 'y', value: 2 }),
  ]);
  assert.equal(burst[0].status, 'fulfilled');
  assert.equal(burst[1].status, 'rejected');
  assert.equal(burst[1].reason.code, 'FAILED_PRECONDITION');
  assert.equal(burst[2].status, 'fulfilled');
  assert.equal(burst[2].value.height, burst[0].value.height);  // one bundle, one block
  assert.ok(burst[2].value.result.revision > burst[0].value.result.revision);

  // Keys starting with NUL are the built-in modules' (locks, fencing tokens): a handler can
  // neither write nor read them, like kv ops.
  for (const c of chains) c.register('sneak', (state) => { state.put('\0fence/alice', 1); return null; });
  for (const c of chains) c.register('peek', (state) => state.get('\0fence/x') ?? 'hidden');
  await assert.rejects(chains[2].submit('sneak', null), (e) => e instanceof NitroError && e.code === 'INVALID_ARGUMENT');
  await chains[2].submit('kv.cas', { key: 'x', value: 3, ifTokenAtLeast: 5 });
  assert.deepEqual((await chains[2].submit('peek', null)).result, 'hidden');

  // Every validator executed the same txs: same balances, same state root at the same height.
  await waitFor(() => chains.every((c) => c.info().height >= t.height + 1), { what: 'all validators past the transfer' });
  for (const c of chains) {
    assert.equal(await c.state.get('alice'), 70);
    assert.equal(await c.state.get('bob'), 30);
  }
  assert.ok(commits.some((ev) => ev.height === t.height && ev.txs >= 1));

  // A light client checks a committed value with nothing but the validator set.
  const read = await chains[3].read('bob', { proof: true });
  assert.equal(read.value, 30);
  const v = verifyRead('bank', set, read.proof);
  assert.equal(v.key, 'bob');
  assert.equal(v.found, true);
  assert.equal(v.value, 30);
  const absent = await chains[1].read('nobody', { proof: true });
  assert.equal(verifyRead('bank', set, absent.proof).found, false);
  const tampered = read.proof.slice();
  tampered[tampered.length - 5] ^= 0xff;
  assert.throws(() => verifyRead('bank', set, tampered), (e) => e instanceof NitroError);
  assert.throws(() => verifyRead('other-chain', set, read.proof), (e) => e instanceof NitroError && e.code === 'UNAUTHENTICATED');

  for (const c of chains) c.close();
  await Promise.all(nodes.map((n) => n.close()));
});

test('consensus: bad options are typed errors', async () => {
  const network = new MemoryNetwork();
  const node = await createNode({ name: 'cx0', transport: memory({ network }) });
  assert.throws(() => node.consensus({ validators: [] }), (e) => e instanceof NitroError && e.code === 'INVALID_ARGUMENT');
  assert.throws(() => node.consensus({}), (e) => e instanceof NitroError && e.code === 'INVALID_ARGUMENT');
  await node.close();
});
