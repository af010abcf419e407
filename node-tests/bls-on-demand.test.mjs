// Under Node, nitro-bls.wasm (BLS, the beacon, consensus, the simulator) is instantiated on its
// first use, synchronously, so a process that only gossips does not hold its compiled code, while
// a synchronous call such as Beacon.verify still works right after init(). Checked against the
// drand vectors of ../shared/vectors/drand.json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { init, blsLoaded, createNode, memory, MemoryNetwork, Beacon } from '../js/dist/node.js';

const vectors = JSON.parse(readFileSync(new URL('../../shared/vectors/drand.json', import.meta.url), 'utf8'));

test('bls on demand: gossip leaves nitro-bls.wasm unloaded; the first Beacon.verify loads it and verifies', async () => {
  await init();
  const network = new MemoryNetwork();
  const a = await createNode({ name: 'a', transport: memory({ network }) });
  const b = await createNode({ name: 'b', transport: memory({ network }), bootstrap: ['mem:a'] });
  try {
    const got = new Promise((resolve) => b.subscribe('t', (value) => resolve(value)));
    await a.publish('t', 'hello');
    assert.equal(await got, 'hello');
    assert.equal(blsLoaded(), false, 'nodes without access control, beacon or chain do not load the BLS half');
  } finally {
    await a.close();
    await b.close();
  }
  for (const [name, chain] of Object.entries(vectors.chains)) {
    const r = chain.rounds[0];
    const input = { scheme: chain.scheme, publicKey: chain.public_key, round: r.round, signature: r.signature, previousSignature: r.previous_signature };
    assert.deepEqual(Beacon.verify(input), { valid: true, randomness: r.randomness }, `${name} round ${r.round}`);
    assert.equal(Beacon.verify({ ...input, round: r.round + 1 }).valid, false);
  }
  assert.equal(blsLoaded(), true);
});
