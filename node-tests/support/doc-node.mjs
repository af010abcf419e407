// A Nitro node in its own process holding one replicated document (node.doc), for the
// multi-process doc-sync tests. Listens on a free loopback port; driven by JSON lines:
//   argv: one JSON object {name, doc, bootstrap: [url...], dir?: fileStore dir, antiEntropyMs?}
//   out:  {"ev":"ready","id","address","text","map","applied"} once the document is loaded from its store
//   in:   {"cmd":"edits","count","seed","tag"}: that many random edits (text inserts at random
//           token boundaries, map sets), yielding to the event loop between them; replies once they are
//           durable in the store (acknowledged) with {"tokens":[...]} — the inserted strings
//         {"cmd":"stream"}: edits until the process dies, each acknowledged by {"ev":"acked","token"}
//           once durable
//         {"cmd":"state"} -> {"text","map","peers","stats"}
//         {"cmd":"close"}: closes the node; the process must then exit by itself
//   out:  {"ev":"reply","cmd",...} per command ({"error":code} on failure).
import { createNode, websocket, replicaOf } from '../../js/dist/node.js';
import { fileStore } from '../../js/dist/store-file.js';
import { rng } from './rng.mjs';
import { send, serveCommands } from './serve.mjs';

const config = JSON.parse(process.argv[2]);

const node = await createNode({ name: config.name, transport: websocket({ listen: 0, url: config.bootstrap ?? [] }) });
node.on('error', (e) => send({ ev: 'error', message: String(e) }));
const store = config.dir ? fileStore(config.dir) : undefined;
const doc = node.doc(config.doc, { store, antiEntropyMs: config.antiEntropyMs ?? 500 });
const replica = replicaOf(doc);
await replica.ready;
const text = doc.getText('text');
const map = doc.getMap('map');
send({ ev: 'ready', id: node.id, address: node.address, text: text.toString(), map: map.toJSON(), applied: replica.stats.applied });

async function edits({ count, seed, tag }) {
  const random = rng(seed);
  const tokens = [];
  for (let i = 0; i < count; i++) {
    const token = `[${tag}${i}]`;
    // At a token boundary, so every token stays contiguous in the merged text.
    const s = text.toString();
    const boundaries = [0];
    for (let at = s.indexOf(']'); at >= 0; at = s.indexOf(']', at + 1)) boundaries.push(at + 1);
    text.insert(boundaries[Math.floor(random() * boundaries.length)], token);
    tokens.push(token);
    if (random() < 0.3) map.set(`k${Math.floor(random() * 8)}`, `${tag}${i}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
  await replica.flush();  // acknowledged = durable in the store
  return { tokens };
}

// Edits until killed, each followed by its acknowledgement once durable: {"ev":"acked","token"}.
async function stream({ tag }) {
  for (let i = 0; ; i++) {
    const token = `[${tag}${i}]`;
    text.insert(text.length, token);
    await replica.flush();
    send({ ev: 'acked', token });
  }
}

const commands = {
  edits,
  stream: () => {
    void stream({ tag: 's' });
    return {};
  },
  state: () => ({ text: text.toString(), map: map.toJSON(), peers: node.peers().map((p) => p.id), stats: replica.stats }),
  close: async () => {
    await replica.close();
    await node.close();
    await store?.close();
    return {};
  },
};

serveCommands(commands);
