// Validator set changes from JS: four in-process validators (memory transport) vote a fifth one
// in with chain.changeValidators; the change applies at the third vote (2f+1 of 4), every node
// emits 'epoch' and reports the same five-member set, and the new validator then votes: with one
// of the original four closed, n = 5 needs 4 votes, so commits that follow need its vote.
// Every await is bounded and the nodes close whatever happens, so a failure ends the file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createNode, memory, MemoryNetwork, NitroError, chainKeys, init } from '../js/dist/node.js';
import { waitFor, overlayConnected } from './support/wait.mjs';

await init();

const submitBound = { timeoutMs: 15000 };

test('consensus: a fifth validator voted in from JS joins and its votes count', { timeout: 60000 }, async () => {
  const network = new MemoryNetwork();
  const nodes = [];
  try {
    for (let i = 0; i < 5; i++) nodes.push(await createNode({ name: `vs${i}`, transport: memory({ network }) }));
    await waitFor(() => nodes.every((n) => n.neighbors().length > 0) && overlayConnected(nodes), { what: 'overlay' });
    const keys = nodes.map((_, i) => chainKeys(new Uint8Array(32).fill(i + 1)));
    const all = nodes.map((n, i) => ({ id: n.id, blsPublicKey: keys[i].blsPublicKey, blsPop: keys[i].blsPop }));
    const genesis = all.slice(0, 4);
    const chains = nodes.map((n, i) => n.consensus({ name: 'vs', validators: genesis, blsSecretKey: keys[i].blsSecretKey, timeoutMs: 500 }));
    const epochs = chains.map(() => []);
    chains.forEach((c, i) => c.on('epoch', (ev) => epochs[i].push(ev)));
    await chains[0].submit('kv.put', { key: 'before', value: 1 }, submitBound);

    // Not a member yet: the fifth node cannot vote for itself (refused before it is sent: a
    // non-member hears no proposals, so it would never see the module refuse it at commit).
    await assert.rejects(chains[4].changeValidators({ add: all[4] }, submitBound),
      (e) => e instanceof NitroError && e.code === 'PERMISSION_DENIED');
    const first = await chains[0].changeValidators({ add: all[4] }, submitBound);
    assert.deepEqual({ applied: first.result.applied, votes: first.result.votes, needed: first.result.needed }, { applied: false, votes: 1, needed: 3 });
    await chains[1].changeValidators({ add: all[4] }, submitBound);
    const third = await chains[2].changeValidators({ add: all[4] }, submitBound);
    assert.equal(third.result.applied, true);
    assert.equal(third.result.epoch, 1);

    await waitFor(() => chains.every((c) => c.info().epoch === 1), { what: 'every node in epoch 1', timeoutMs: 20000 });
    for (const c of chains) {
      assert.deepEqual(c.validators().map((v) => v.id).sort(), all.map((v) => v.id).sort());
    }
    for (const list of epochs.slice(0, 4)) {
      assert.equal(list.length, 1);
      assert.equal(list[0].epoch, 1);
      assert.equal(list[0].height, third.height);
      assert.equal(list[0].validators.length, 5);
    }

    // n = 5: 4 votes per QC. With node 3 closed, the other three need the new validator's vote.
    await nodes[3].close();
    const after = await chains[4].submit('kv.put', { key: 'after', value: 2 }, submitBound);
    assert.ok(after.height > third.height);
    await waitFor(() => chains[4].info().height >= after.height, { what: 'the new validator commits', timeoutMs: 20000 });
    assert.equal(await chains[4].state.get('before'), 1);
    assert.equal(await chains[4].state.get('after'), 2);
    const { proof, value } = await chains[1].read('after', { proof: true, timeoutMs: 10000 });
    assert.equal(value, 2);
    assert.ok(proof instanceof Uint8Array);
  } finally {
    await Promise.allSettled(nodes.map((n) => n.close()));
  }
});
