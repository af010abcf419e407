// Stress checks of the core's dissemination through the JS host (not a test suite). Both used to
// lose deliveries; gossip db22d6f (digest anti-entropy, JOIN fixes) repaired them.
//   node node-tests/support/repro-gossip.mjs churn   50 nodes created back to back, 20 messages
//        published as soon as the overlay is connected (was: a few deliveries never arrived, and
//        some active views stayed asymmetric for seconds).
//   node node-tests/support/repro-gossip.mjs loss    6 nodes, 5% frame loss + 0-15 ms jitter, 20
//        messages from 6 publishers (was: a skipped message now and then, orderingGapsSkipped 1).
// Prints what is missing per node and any asymmetric active view (A lists B, B does not list A).
import { createNode, memory, MemoryNetwork, init } from '../../js/dist/node.js';
import { waitFor, overlayConnected } from './wait.mjs';

await init();
const mode = process.argv[2] ?? 'churn';

async function scenario(count, faults) {
  const network = new MemoryNetwork();
  const nodes = [];
  for (let i = 0; i < count; i++) nodes.push(await createNode({ name: `r${i}`, transport: memory({ network, faults }) }));
  await waitFor(() => overlayConnected(nodes), { timeoutMs: 30000, what: 'overlay' });
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const asymmetric = () => nodes.flatMap((n) => n.neighbors()
    .filter((id) => !byId.get(id)?.neighbors().includes(n.id)).map((id) => `${n.name}->${byId.get(id)?.name}`));
  const got = nodes.map(() => []);
  nodes.forEach((n, i) => n.subscribe('t', (m) => got[i].push(m)));
  faults.on = true;
  for (let i = 0; i < 20; i++) await nodes[i % count].publish('t', i);
  await waitFor(() => got.every((g) => g.length === 20), { timeoutMs: 8000 }).catch(() => {});
  faults.on = false;
  const missing = nodes.map((n, i) => [n, [...Array(20).keys()].filter((k) => !got[i].includes(k))]).filter(([, m]) => m.length);
  for (const [n, m] of missing) {
    const s = n.stats();
    console.log(`${n.name} missing ${m} gapsSkipped=${s.orderingGapsSkipped} graftsSent=${s.graftsSent} neighborsDown=${s.neighborsDown}`);
    if (process.env.VERBOSE) console.log(JSON.stringify(s), n.neighbors().map((id) => byId.get(id)?.name));
  }
  console.log(`asymmetric views after 8 s: ${asymmetric().join(' ') || 'none'}`);
  await Promise.all(nodes.map((n) => n.close()));
  return missing.length;
}

const runs = mode === 'loss' ? 25 : 3;
let bad = 0;
for (let r = 0; r < runs; r++) {
  const faults = { on: false };
  if (mode === 'loss') {
    faults.drop = () => faults.on && Math.random() < 0.05;
    faults.delayMs = () => (faults.on ? Math.floor(Math.random() * 15) : 0);
  }
  if (await scenario(mode === 'loss' ? 6 : 50, faults)) bad++;
}
console.log(`${mode}: ${bad} of ${runs} runs lost deliveries`);
