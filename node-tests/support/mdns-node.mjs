// A Nitro node found by mDNS, in its own process (run inside a network namespace by mdns.test.mjs).
//   argv: one JSON object { name, host } (host: the address to listen on and multicast from)
//   out:  {"ev":"ready","id","address"}, {"ev":"neighbor:up","id"}; in: {"cmd":"state"} {"cmd":"close"}
import { createInterface } from 'node:readline';
import { createNode, websocket, mdns } from '../../js/dist/node.js';

const { name, host } = JSON.parse(process.argv[2]);
const send = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
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
    lines.close();
    return {};
  },
};
const lines = createInterface({ input: process.stdin });
lines.on('line', async (line) => {
  const req = JSON.parse(line);
  try {
    send({ ev: 'reply', cmd: req.cmd, ...(await commands[req.cmd](req)) });
  } catch (e) {
    send({ ev: 'reply', cmd: req.cmd, error: e.code ?? String(e) });
  }
});
