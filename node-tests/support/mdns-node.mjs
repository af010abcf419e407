// A Nitro node found by mDNS, in its own process (run inside a network namespace by mdns.test.mjs).
//   argv: one JSON object { name, host } (host: the address to listen on and multicast from)
//   out:  {"ev":"ready","id","address"}, {"ev":"neighbor:up","id"}; in: {"cmd":"state"} {"cmd":"close"}
import { createNode, websocket, mdns } from '../../js/dist/node.js';
import { send, serveCommands } from './serve.mjs';

const { name, host } = JSON.parse(process.argv[2]);
const node = await createNode({
  name,
  transport: websocket({ listen: 0, host }),
  discovery: mdns({ interface: host, intervalMs: 250 }),
});
node.on('neighbor:up', (e) => send({ ev: 'neighbor:up', id: e.id }));
node.on('error', (e) => send({ ev: 'error', message: String(e?.message ?? e) }));
send({ ev: 'ready', id: node.id, address: node.address });

const commands = {
  state: () => ({ neighbors: node.neighbors() }),
  close: async () => {
    await node.close();
    return {};
  },
};
serveCommands(commands);
