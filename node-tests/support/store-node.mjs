// A Nitro node in its own process with a durable store, for the restart tests: like ws-node.mjs
// (JSON lines over stdin/stdout), plus
//   env NITRO_TEST_STORE_DIR: fileStore directory (optional), NITRO_TEST_IDENTITY: hex seed (optional)
//   in:  {"cmd":"publishMany","topic","values":[...]}  publishes each in turn without awaiting
//        durability between them (the way an app publishes), replies with the seqs
import { createNode, websocket, fileStore } from '../../js/dist/node.js';
import { send, serveCommands } from './serve.mjs';

const [name, ...bootstrap] = process.argv.slice(2);
const hex = process.env.NITRO_TEST_IDENTITY;
const identity = hex ? Uint8Array.from(hex.match(/../g), (b) => parseInt(b, 16)) : undefined;
const store = process.env.NITRO_TEST_STORE_DIR ? fileStore(process.env.NITRO_TEST_STORE_DIR) : undefined;
const timers = process.env.NITRO_TEST_TIMERS ? JSON.parse(process.env.NITRO_TEST_TIMERS) : undefined;

const node = await createNode({ name, identity, store, timers, transport: websocket({ listen: 0, url: bootstrap }) });
node.on('error', (e) => send({ ev: 'error', message: String(e) }));
send({ ev: 'ready', id: node.id, address: node.address });

const commands = {
  subscribe: ({ topic }) => {
    node.subscribe(topic, (msg, meta) => send({ ev: 'message', topic, msg, from: meta.from, seq: meta.seq }));
    return {};
  },
  publishMany: async ({ topic, values }) => ({ seqs: await Promise.all(values.map((v) => node.publish(topic, v))) }),
  state: () => ({ neighbors: node.neighbors() }),
  close: async () => {
    await node.close();
    await store?.close();
    return {};
  },
};

serveCommands(commands);
