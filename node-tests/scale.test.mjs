// 100 nodes in one process over the memory transport, created back to back without waiting for
// the join (joinTimeoutMs: 0), as a user trying Nitro at scale would. What this checks is the
// absence of feedback loops during the join: GRAFTs (pulls of payloads that were only late) per
// delivery, handshakes per node, and that a publish after the join reaches every node. CPU per
// second is measured by the bench (npm run bench -- idle), not asserted here.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createNode, memory, MemoryNetwork, init } from '../js/dist/node.js';
import { waitFor, overlayConnected, within } from './support/wait.mjs';

await init();

const kNodes = 100;
const kIdleDeliveriesPerNodePerPoll = 2;  // deliveries per node over one 1 s poll, idle
const nodes = [];
after(async () => {
  await Promise.all(nodes.map((n) => n.close()));
});

function total(key) {
  return nodes.reduce((sum, n) => sum + n.stats()[key], 0);
}

test('100 nodes in one process join without GRAFT storms and a publish reaches all of them', async () => {
  const network = new MemoryNetwork();
  for (let i = 0; i < kNodes; i++) {
    nodes.push(await createNode({ name: `scale-${i}`, transport: memory({ network }), joinTimeoutMs: 0 }));
  }
  await waitFor(() => overlayConnected(nodes), { timeoutMs: 60000, intervalMs: 100, what: 'a connected overlay' });
  // The join: every node advertises its RPC services by gossip; those deliveries are its traffic.
  await waitFor(() => total('delivered') >= kNodes * (kNodes - 1), { timeoutMs: 60000, intervalMs: 100, what: 'every node to hear every ad' });
  // The join is over when deliveries fall to the idle rate (about one periodic ad per node per
  // second); a storm keeps them high.
  let delivered = total('delivered');
  await waitFor(() => {
    const now = total('delivered');
    const quiet = now - delivered <= kIdleDeliveriesPerNodePerPoll * kNodes;
    delivered = now;
    return quiet;
  }, { timeoutMs: 60000, intervalMs: 1000, what: 'the join traffic to die down' });
  const grafts = total('graftsSent');
  const handshakes = total('handshakesOk');
  console.log(`join: ${delivered} deliveries, ${grafts} GRAFTs (${(grafts / delivered).toFixed(3)} per delivery), ` +
    `${handshakes} handshakes (${(handshakes / kNodes).toFixed(1)} per node), ${total('duplicatePayloads')} duplicate payloads, ` +
    `${total('orderingGapsSkipped')} ordering gaps skipped`);
  // The target is 0.1 (met on a quiet machine: 0.04-0.09 measured); with the process starved by
  // other work, eager pushes are late and 0.16 was measured. The storm this guards against ran at
  // ~0.8 (40 nodes before the adaptive GRAFT wait and the paced discovery ads).
  assert.ok(grafts / delivered <= 0.3, `GRAFTs per delivery ${grafts / delivered}`);
  // Both ends count a handshake. A node links to its active view, the contacts of its join and
  // of the view changes later joins cause, and shuffle partners: 11-31 per node measured.
  assert.ok(handshakes / kNodes <= 40, `handshakes per node ${handshakes / kNodes}`);

  const got = new Set();
  let reachedAll;
  const all = new Promise((resolve) => { reachedAll = resolve; });
  for (const n of nodes) {
    n.subscribe('scale.t', () => {
      got.add(n.id);
      if (got.size === kNodes) reachedAll(performance.now());
    });
  }
  const start = performance.now();
  await nodes[kNodes - 1].publish('scale.t', 'after the join');
  // 200 ms is the target (measured 95-770 ms on this machine shared by many builds); 2 s here.
  const end = await within(all, 2000, 'every node to deliver').catch((e) => {
    throw new Error(`${e.message}: ${got.size} of ${kNodes} did`);
  });
  console.log(`publish reached ${got.size} nodes in ${(end - start).toFixed(0)} ms`);
  assert.equal(got.size, kNodes);
});
