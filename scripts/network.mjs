// The local Nitro network that `npm start` runs next to the web demo: four Node.js nodes on
// WebSocket (loopback), joined into one gossip overlay. Browsers that open the demo join the same
// overlay through the first node's WebSocket address (and reach each other over WebRTC). The nodes:
//   * keep the shared board (`node.doc('board')`, persisted with fileStore) and, in turns decided by
//     a lock on their chain (`node.sync.lock('curator')`), add a card every few seconds;
//   * run a BFT chain among the four (HotStuff-2; n = 3f+1 needs four validators) whose commits
//     they announce on pub/sub, with the lock's holder;
//   * run a 2-of-3 threshold BLS beacon (DKG, no dealer) on alpha, beta and gamma;
//   * serve the `demo` RPC service (round-robin) and chat back.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { init, codec, versions, createNode, websocket, toHex, chainKeys, chainSync, fileStore } from '../js/dist/node.js';
import { serveDemo, kBeaconScheme } from './demo-service.mjs';
import { curate } from './demo-curator.mjs';

const kNodeNames = ['alpha', 'beta', 'gamma', 'delta'];
const kBeaconMembers = 3;
const kBeaconPeriodMs = 3000;
const kDkgPhaseMs = 1000;
const kChainName = 'demo';
const kChainEmptyBlockMs = 1500;

// A 2-of-3 beacon with a DKG (no dealer): every member uses the same start and genesis times.
// The DKG takes 3 (f + 1) phases (f = 1 here: deals, complaints, justifications, each relayed for
// f + 1 delivery bounds); genesis comes one phase after it.
function startBeacon(nodes) {
  const group = nodes.map((n) => n.id);
  const startMs = Date.now() + 300;
  const genesisMs = startMs + 7 * kDkgPhaseMs;
  return nodes.map((n) => n.beacon({
    group, threshold: 2, periodMs: kBeaconPeriodMs, genesisMs, scheme: kBeaconScheme, dkg: { startMs, phaseMs: kDkgPhaseMs },
  }));
}

// The chain: every node a validator with a fresh BLS key (the chain lives as long as the process).
function startChain(nodes) {
  const keys = nodes.map(() => chainKeys(crypto.getRandomValues(new Uint8Array(32))));
  const validators = nodes.map((n, i) => ({ id: n.id, blsPublicKey: keys[i].blsPublicKey, blsPop: keys[i].blsPop }));
  return nodes.map((n, i) => {
    const chain = n.consensus({ name: kChainName, validators, blsSecretKey: keys[i].blsSecretKey, emptyBlockMs: kChainEmptyBlockMs });
    // Likes on cards: a counter per card in the chain's state, so every validator agrees on it.
    chain.register('like', (state, args) => {
      const key = `likes/${String(args?.card ?? '').slice(0, 64)}`;
      const likes = Number(state.get(key) ?? 0) + 1;
      state.put(key, likes);
      return { likes };
    });
    n.sync.use(chainSync(chain));
    return chain;
  });
}

// alpha announces each commit (height, txs, the curator lock's holder) on `demo.chain`.
function announceCommits(node, chain, names) {
  let last = { height: 0 };
  const off = chain.on('commit', async (c) => {
    const holder = await node.sync.holder('curator').catch(() => undefined);
    last = {
      height: c.height, view: c.view, txs: c.txs, hash: toHex(c.hash).slice(0, 16), stateRoot: toHex(c.stateRoot).slice(0, 16),
      timeMs: c.timeMs, validators: [...names.values()], lock: holder ? { name: 'curator', holder: names.get(holder.id) ?? holder.id, token: holder.term } : null,
    };
    node.publish('demo.chain', last).catch(() => {});
  });
  return { off, last: () => last };
}

function json(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

async function startNodes(dataDir) {
  const nodes = [];
  for (const name of kNodeNames) {
    const url = nodes.length ? [nodes[0].address] : [];
    nodes.push(await createNode({ name, transport: websocket({ listen: 0, url }) }));
  }
  const names = new Map(nodes.map((n) => [n.id, n.name]));
  const docs = nodes.map((n) => {
    const dir = join(dataDir, n.name);
    mkdirSync(dir, { recursive: true });
    return n.doc('board', { store: fileStore(dir) });
  });
  const beacons = startBeacon(nodes.slice(0, kBeaconMembers));
  const chains = startChain(nodes);
  const commits = announceCommits(nodes[0], chains[0], names);
  nodes.forEach((node, i) => serveDemo(node, { beacons, chain: chains[i], commits, names }));
  // alpha answers chat with a short acknowledgement, so a lone browser sees the overlay work.
  nodes[0].subscribe('demo.chat', (msg, meta) => {
    if (meta.from === nodes[0].id || msg?.kind !== 'say') return;
    nodes[0].publish('demo.chat', { kind: 'ack', name: 'alpha', text: `heard "${String(msg.text).slice(0, 60)}"` }).catch(() => {});
  });
  const stop = new AbortController();
  const curators = nodes.map((n, i) => curate(n, docs[i], stop.signal));
  return {
    nodes,
    stop: async () => {
      stop.abort();
      await Promise.all(curators);
      commits.off();
      for (const c of chains) c.close();
      for (const b of beacons) b.close();
    },
  };
}

export async function startNetwork({ nodes: withNodes = true, dataDir = 'build/demo-data' } = {}) {
  await init();
  const net = withNodes ? await startNodes(dataDir) : { nodes: [], stop: async () => {} };
  const routes = {
    '/api/status': (_req, res) => json(res, 200, {
      versions,
      frame: Buffer.from(codec.encode({ hello: 'nitro' })).toString('hex'),
      nodes: net.nodes.map((n) => ({
        id: n.id, name: n.name, address: n.address, neighbors: n.neighbors(),
        peers: n.peers().map((p) => ({ id: p.id, address: p.address, neighbor: p.neighbor })),
      })),
    }),
  };
  return {
    routes,
    nodes: net.nodes,
    describe: () => `${net.nodes.length} nodes on WebSocket (${net.nodes.map((n) => n.address).join(', ')}), wasm core with emscripten ${versions.emscripten}`,
    close: async () => {
      await net.stop();
      await Promise.all(net.nodes.map((n) => n.close()));
    },
  };
}
