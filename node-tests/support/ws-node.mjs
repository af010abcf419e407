// A Nitro node in its own process, for the multi-process WebSocket tests. It listens on a free
// loopback port and is driven over stdin/stdout with JSON lines:
//   argv: <name> [bootstrap url ...]; env NITRO_TEST_TIMERS: JSON of createNode `timers` (optional)
//   out:  {"ev":"ready","id","address"} then node events as they happen:
//         {"ev":"message","topic","msg","from","seq","hops"}, {"ev":"peer:up"|"peer:down"|"neighbor:up"|"neighbor:down","id"}
//   in:   {"cmd":"subscribe","topic"} {"cmd":"publish","topic","value"} {"cmd":"state"} {"cmd":"close"}
//   out:  {"ev":"reply","cmd",...} for each command ({"error":code} on failure).
// After "close" the node closes and the process must exit by itself (no process.exit).
import { createNode, websocket } from '../../js/dist/node.js';
import { send, serveCommands } from './serve.mjs';

const [name, ...bootstrap] = process.argv.slice(2);

const timers = process.env.NITRO_TEST_TIMERS ? JSON.parse(process.env.NITRO_TEST_TIMERS) : undefined;
const node = await createNode({ name, timers, transport: websocket({ listen: 0, url: bootstrap }) });
for (const ev of ['peer:up', 'peer:down', 'neighbor:up', 'neighbor:down']) node.on(ev, (e) => send({ ev, id: e.id }));
node.on('error', (e) => send({ ev: 'error', message: String(e) }));
send({ ev: 'ready', id: node.id, address: node.address });

const commands = {
  subscribe: ({ topic }) => {
    node.subscribe(topic, (msg, meta) => send({ ev: 'message', topic, msg, from: meta.from, seq: meta.seq, hops: meta.hops }));
    return {};
  },
  publish: async ({ topic, value }) => ({ seq: await node.publish(topic, value) }),
  state: () => ({ neighbors: node.neighbors(), peers: node.peers().map((p) => p.id) }),
  close: async () => {
    await node.close();
    return {};
  },
};

serveCommands(commands);
