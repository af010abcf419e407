// The local Nitro network that `npm start` runs next to the web demo: three Node.js nodes on
// WebSocket (loopback), joined into one gossip overlay. Browsers that open the demo join the same
// overlay through the first node's WebSocket address and chat over pub/sub with them.
import { readFile } from 'node:fs/promises';
import { init, codec, versions, createNode, websocket } from '../js/dist/node.js';

// Real drand beacons for the demo's verification panel, read from the shared test data when present.
const drandVectors = new URL('../../shared/vectors/drand.json', import.meta.url);
const kNodeNames = ['alpha', 'beta', 'gamma'];
const kTickMs = 3000;

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
  let tick = 0;
  const ticker = setInterval(() => {
    const node = nodes[tick % nodes.length];
    node.publish('demo.ticks', { tick: ++tick, from: kNodeNames[(tick - 1) % nodes.length], at: Date.now() }).catch(() => {});
  }, kTickMs);
  return { nodes, stop: () => clearInterval(ticker) };
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
