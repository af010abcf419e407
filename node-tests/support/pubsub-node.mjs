// A Nitro node in its own process for the pub/sub conformance suite, over the gossip mesh
// (WebSocket on loopback) or a broker (NATS). Driven over JSON lines like ws-node.mjs:
//   argv: one JSON object { name, mode: 'ws' | 'nats', bootstrap?: [url], servers?: [url] }
//   out:  {"ev":"ready","id","address"}, {"ev":"message","sub","topic","msg","from","seq","hops"},
//         {"ev":"error","message"}
//   in:   {"cmd":"subscribe","sub","topic","queue"?} (replies once the subscription is in place),
//         {"cmd":"unsubscribe","sub"} {"cmd":"publish","topic","value"} {"cmd":"flush"} {"cmd":"state"}
//         {"cmd":"close"}
import { createNode, websocket, nats } from '../../js/dist/node.js';
import { send, serveCommands } from './serve.mjs';

const config = JSON.parse(process.argv[2]);
const node = await createNode(config.mode === 'nats'
  ? { name: config.name, broker: nats({ servers: config.servers }) }
  : { name: config.name, transport: websocket({ listen: 0, url: config.bootstrap ?? [] }) });
node.on('error', (e) => send({ ev: 'error', message: String(e?.message ?? e) }));
send({ ev: 'ready', id: node.id, address: node.address });

const subs = new Map();
const commands = {
  subscribe: async ({ sub, topic, queue }) => {
    subs.set(sub, node.subscribe(topic, (msg, meta) => send({
      ev: 'message', sub, topic: meta.topic, msg, from: meta.from, seq: meta.seq, hops: meta.hops,
    }), queue === undefined ? undefined : { queue }));
    await node.flush();
    return {};
  },
  unsubscribe: async ({ sub }) => {
    subs.get(sub)?.();
    subs.delete(sub);
    await node.flush();
    return {};
  },
  publish: async ({ topic, value }) => ({ seq: await node.publish(topic, value) }),
  flush: async () => {
    await node.flush();
    return {};
  },
  state: () => ({ neighbors: node.neighbors() }),
  close: async () => {
    await node.close();
    return {};
  },
};

serveCommands(commands);
