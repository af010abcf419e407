// The JS node host end to end: pub/sub through wasm core + host + transport, N nodes in one
// process, every node subscribed. Throughput = messages published per second until every
// subscriber has them all (one delivery per subscriber per message); latency = publish to the
// last subscriber's delivery for one message at a time; duplicates counted after a warm-up.
//   args: [nodes=5] [messages=2000]
import { performance } from 'node:perf_hooks';
import { createNode, memory, MemoryNetwork, websocket, init } from '../js/dist/node.js';
import { median, table } from './lib.mjs';

async function cluster(kind, count) {
  const network = new MemoryNetwork();
  const nodes = [];
  for (let i = 0; i < count; i++) {
    const transport = kind === 'memory' ? memory({ network })
      : websocket({ listen: 0, url: nodes.length ? nodes[0].address : undefined });
    nodes.push(await createNode({ name: `b${i}`, transport }));
  }
  const start = performance.now();
  while (!nodes.every((n) => n.neighbors().length >= Math.min(2, count - 1))) {
    if (performance.now() - start > 20000) throw new Error(`${kind}: overlay did not form`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return nodes;
}

function counting(nodes, topic) {
  const state = { delivered: 0, waiters: [] };
  for (const n of nodes) {
    n.subscribe(topic, () => {
      state.delivered++;
      for (const w of state.waiters.splice(0)) w();
    });
  }
  state.until = async (target) => {
    while (state.delivered < target) await new Promise((r) => state.waiters.push(r));
  };
  return state;
}

async function publishAll(node, topic, count, payload) {
  for (let i = 0; i < count; i++) {
    for (;;) {
      try {
        await node.publish(topic, { i, payload });
        break;
      } catch (e) {
        if (e.code !== 'RESOURCE_EXHAUSTED') throw e;
        await new Promise((r) => setTimeout(r, 1));
      }
    }
  }
}

const sumStats = (nodes, key) => nodes.reduce((s, n) => s + n.stats()[key], 0);

async function measure(kind, count, messages) {
  const nodes = await cluster(kind, count);
  const payload = 'x'.repeat(100);
  // Warm-up, one message at a time, so Plumtree has pruned its tree before the burst.
  const warm = counting(nodes, 'thr');
  for (let i = 0; i < 20; i++) {
    await nodes[0].publish('thr', { i, payload });
    await warm.until((i + 1) * count);
  }
  const dup0 = sumStats(nodes, 'duplicatePayloads');
  const del0 = sumStats(nodes, 'delivered');
  const thr = counting(nodes, 'thr');
  const start = performance.now();
  await publishAll(nodes[0], 'thr', messages, payload);
  await thr.until(messages * count);
  const seconds = (performance.now() - start) / 1000;
  const lat = counting(nodes, 'lat');
  const latencies = [];
  for (let i = 0; i < 50; i++) {
    const t0 = performance.now();
    await nodes[1 + (i % (count - 1))].publish('lat', i);
    await lat.until((i + 1) * count);
    latencies.push(performance.now() - t0);
  }
  const dup = (sumStats(nodes, 'duplicatePayloads') - dup0) / Math.max(1, sumStats(nodes, 'delivered') - del0);
  await Promise.all(nodes.map((n) => n.close()));
  return [kind, String(count), messages / seconds, (messages * count) / seconds, median(latencies), dup];
}

export async function run(args = []) {
  await init();
  const count = Number(args[0] ?? 5);
  const messages = Number(args[1] ?? 2000);
  const rows = [];
  for (const kind of ['memory', 'websocket']) rows.push(await measure(kind, count, messages));
  console.log(table(
    ['transport', 'nodes', 'published msg/s', 'deliveries/s', 'median latency ms (1 msg to all)', 'duplicate payloads per delivery'],
    rows,
  ));
}

if (import.meta.url === `file://${process.argv[1]}`) await run(process.argv.slice(2));
