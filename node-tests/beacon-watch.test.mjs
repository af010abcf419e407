// beacon.watch(): rounds as an async iterator (drand-client's `watch` shape), each round verified
// with Beacon.verify against the group key; the loop ends on abort, on beacon close and on node close.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createNode, memory, MemoryNetwork, Beacon, threshold, toHex, init } from '../js/dist/node.js';
import { waitFor, overlayConnected, within } from './support/wait.mjs';

await init();

const PERIOD_MS = 300;

test('beacon.watch yields verified consecutive rounds and ends on abort and close', async () => {
  const network = new MemoryNetwork();
  const nodes = [];
  for (let i = 0; i < 3; i++) nodes.push(await createNode({ name: `bw${i}`, transport: memory({ network }) }));
  await waitFor(() => nodes.every((n) => n.neighbors().length > 0) && overlayConnected(nodes), { what: 'overlay' });
  const group = nodes.map((n) => n.id);
  const dealer = threshold.deal(2, 3, new Uint8Array(32).fill(9));
  const genesisMs = Date.now() + 200;
  const beacons = nodes.map((n) => n.beacon({ group, threshold: 2, periodMs: PERIOD_MS, genesisMs, dealer }));
  const publicKey = toHex(dealer.groupPublicKey);

  const ac = new AbortController();
  const rounds = [];
  const loop = (async () => {
    for await (const r of beacons[0].watch({ signal: ac.signal })) {
      const v = Beacon.verify({ scheme: beacons[0].scheme, publicKey, round: r.round, signature: r.signature, previousSignature: r.previousSignature });
      assert.equal(v.valid, true);
      rounds.push(r.round);
      if (rounds.length === 3) ac.abort();
    }
    return 'ended';
  })();
  assert.equal(await within(loop, 10000, 'three rounds then abort'), 'ended');
  assert.equal(rounds.length, 3);
  assert.deepEqual(rounds, [rounds[0], rounds[0] + 1, rounds[0] + 2]);

  // break ends the iterator; beacon close and node close end a waiting loop
  for await (const r of beacons[1].watch()) { assert.ok(r.round > 0); break; }
  const closing = (async () => { for await (const _ of beacons[1].watch()) { /* until closed */ } return 'closed'; })();
  beacons[1].close();
  assert.equal(await within(closing, 5000, 'beacon close to end watch'), 'closed');
  const nodeClosing = (async () => { for await (const _ of beacons[2].watch()) { /* until the node closes */ } return 'node closed'; })();
  await nodes[2].close();
  assert.equal(await within(nodeClosing, 5000, 'node close to end watch'), 'node closed');
  // an already aborted signal gives an empty iteration
  for await (const _ of beacons[0].watch({ signal: AbortSignal.abort() })) assert.fail('no rounds after abort');
  await Promise.all([nodes[0].close(), nodes[1].close()]);
});
