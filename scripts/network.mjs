// The local Nitro network that `npm start` runs next to the web demo: three Node.js nodes on
// WebSocket (loopback), joined into one gossip overlay. Browsers that open the demo join the same
// overlay through the first node's WebSocket address and chat over pub/sub with them, call the
// `demo` service that all three serve (round-robin), and verify the rounds of the threshold BLS
// beacon the three run among themselves (DKG, 2 of 3) exactly like drand beacons.
import { readFile } from 'node:fs/promises';
import { init, codec, versions, createNode, websocket, toHex } from '../js/dist/node.js';

// Real drand beacons for the demo's verification panel, read from the shared test data when present.
const drandVectors = new URL('../../shared/vectors/drand.json', import.meta.url);
const kNodeNames = ['alpha', 'beta', 'gamma'];
const kTickMs = 3000;
const kBeaconPeriodMs = 3000;
const kDkgPhaseMs = 600;
const kBeaconScheme = 'pedersen-bls-chained';
const kCountMax = 20;

// The `demo` service on every node: who answers shows the round-robin; Demo.Beacon hands out the
// latest threshold-beacon round for the browser to verify itself.
function serveDemo(node, beacon) {
  node.rpc.serve('demo');
  node.handle('Demo.Hello', (req) => ({ greeting: `hello ${String(req?.name ?? 'you').slice(0, 40)}`, from: node.name }));
  node.handle('Demo.Count', async function* (req, ctx) {
    const to = Math.min(kCountMax, Math.max(0, Number(req?.to) || 0));
    for (let n = 1; n <= to && !ctx.signal.aborted; n++) {
      await new Promise((resolve) => setTimeout(resolve, 150));
      yield { n, from: node.name };
    }
  });
  node.handle('Demo.Beacon', () => {
    const r = beacon.latest();
    if (!r || !beacon.groupPublicKey) return { ready: false, from: node.name };
    return {
      ready: true, from: node.name, scheme: kBeaconScheme, round: r.round, randomness: r.randomness,
      signature: toHex(r.signature), previousSignature: toHex(r.previousSignature), groupPublicKey: toHex(beacon.groupPublicKey),
    };
  });
}

// A 2-of-3 beacon with a DKG (no dealer): every member uses the same start and genesis times.
function startBeacon(nodes) {
  const group = nodes.map((n) => n.id);
  const startMs = Date.now() + 300;
  const genesisMs = startMs + 6 * kDkgPhaseMs;
  return nodes.map((n) => n.beacon({
    group, threshold: 2, periodMs: kBeaconPeriodMs, genesisMs, scheme: kBeaconScheme, dkg: { startMs, phaseMs: kDkgPhaseMs },
  }));
}

function json(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

async function startNodes() {
  const nodes = [];
  for (const name of kNodeNames) {
    const url = nodes.length ? [nodes[0].address] : [];
    nodes.push(await createNode({ name, transport: websocket({ listen: 0, url }) }));
  }
  for (const node of nodes) {
    // Each node answers chat with a short acknowledgement, so a lone browser sees the overlay work.
    node.subscribe('demo.chat', (msg, meta) => {
      if (meta.from === node.id || msg?.kind !== 'say' || node !== nodes[0]) return;
      node.publish('demo.chat', { kind: 'ack', text: `alpha heard "${String(msg.text).slice(0, 60)}"` }).catch(() => {});
    });
  }
  const beacons = startBeacon(nodes);
  nodes.forEach((node, i) => serveDemo(node, beacons[i]));
  let tick = 0;
  const ticker = setInterval(() => {
    const node = nodes[tick % nodes.length];
    node.publish('demo.ticks', { tick: ++tick, from: kNodeNames[(tick - 1) % nodes.length], at: Date.now() }).catch(() => {});
  }, kTickMs);
  return { nodes, stop: () => { clearInterval(ticker); for (const b of beacons) b.close(); } };
}

export async function startNetwork({ nodes: withNodes = true } = {}) {
  await init();
  const net = withNodes ? await startNodes() : { nodes: [], stop() {} };
  const routes = {
    '/api/status': (_req, res) => json(res, 200, {
      versions,
      frame: Buffer.from(codec.encode({ hello: 'nitro' })).toString('hex'),
      nodes: net.nodes.map((n) => ({ id: n.id, address: n.address, neighbors: n.neighbors().length, peers: n.peers().length })),
    }),
    '/api/drand': async (_req, res) => json(res, 200, (await readFile(drandVectors, 'utf8').catch(() => null)) ?? '{"chains":{}}'),
  };
  return {
    routes,
    nodes: net.nodes,
    describe: () => `${net.nodes.length} nodes on WebSocket (${net.nodes.map((n) => n.address).join(', ')}), wasm core with emscripten ${versions.emscripten}`,
    close: async () => {
      net.stop();
      await Promise.all(net.nodes.map((n) => n.close()));
    },
  };
}
