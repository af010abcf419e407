// A Nitro node in its own process for the WebRTC tests, driven over JSON lines like ws-node.mjs:
//   argv: <name> <mode> [bootstrap url ...]; mode 'ws' listens on a free loopback port (the
//         rendezvous), mode 'rtc' runs [websocket({ url }), webrtc()] and listens nowhere but rtc:<id>.
//   env NITRO_TEST_TIMERS: JSON of createNode `timers` (optional)
//   out: {"ev":"ready","id","address"}, node events {"ev":"message"|"peer:up"|...}
//   in:  subscribe, publish, state, stats, call {service, method, request}, docSet {key, value},
//        docGet {key}, close
import { createNode, websocket, webrtc, signalStats } from '../../js/dist/node.js';
import { send, serveCommands } from './serve.mjs';

const [name, mode, ...bootstrap] = process.argv.slice(2);

const timers = process.env.NITRO_TEST_TIMERS ? JSON.parse(process.env.NITRO_TEST_TIMERS) : undefined;
const transport = mode === 'ws' ? websocket({ listen: 0, url: bootstrap }) : [websocket({ url: bootstrap }), webrtc()];
const node = await createNode({ name, timers, transport });
for (const ev of ['peer:up', 'peer:down', 'neighbor:up', 'neighbor:down']) node.on(ev, (e) => send({ ev, id: e.id, address: e.address }));
node.on('error', (e) => send({ ev: 'error', message: String(e) }));
node.handle('Echo.Say', (req) => ({ echo: req.text, by: name }));
const doc = node.doc('board');
send({ ev: 'ready', id: node.id, address: node.address });

const commands = {
  subscribe: ({ topic }) => {
    node.subscribe(topic, (msg, meta) => send({ ev: 'message', topic, msg, from: meta.from, seq: meta.seq, hops: meta.hops }));
    return {};
  },
  publish: async ({ topic, value }) => ({ seq: await node.publish(topic, value) }),
  state: () => ({
    neighbors: node.neighbors(),
    peers: node.peers().map((p) => p.id),
    rtcPeers: node.peers().filter((p) => p.address.startsWith('rtc')).map((p) => p.id),
  }),
  stats: () => ({ signal: signalStats(node) }),
  call: async ({ service, method, request }) => ({ response: await node.call(service, method, request, { timeoutMs: 5000 }) }),
  docSet: ({ key, value }) => {
    doc.getMap('cards').set(key, value);
    return {};
  },
  docGet: ({ key }) => ({ value: doc.getMap('cards').get(key) ?? null }),
  close: async () => {
    await node.close();
    return {};
  },
};

serveCommands(commands);
