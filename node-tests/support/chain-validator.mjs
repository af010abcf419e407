// One chain validator in its own process on the node's WebSocket transport. argv: index,
// bootstrap url ('' for none), and optionally a directory for a fileStore (the node's durable
// records: a restart with the same directory recovers the chain from disk). The 4 validators' identities and BLS keys derive from their index.
// Prints {"ready":{address,id,height}} when up, then answers stdin lines (JSON):
//   {"submit":{op,args},"id"?} -> {"committed":{height,result},"id"} | {"error":{code,message},"id"}
//   {"get":key}          -> {"value":..., "height":n}
//   {"info":1,"id"?}     -> {"view","height","id"}
import { createInterface } from 'node:readline';
import { createNode, websocket, chainKeys, fileStore, Identity, init } from '../../js/dist/node.js';

await init();
const [indexText, bootstrap, storeDir] = process.argv.slice(2);
const index = Number(indexText);
const seed = (i) => new Uint8Array(32).fill(100 + i);
const keys = [0, 1, 2, 3].map((i) => chainKeys(new Uint8Array(32).fill(200 + i)));
const validators = [0, 1, 2, 3].map((i) => ({ id: Identity.fromSeed(seed(i)).peerId, blsPublicKey: keys[i].blsPublicKey, blsPop: keys[i].blsPop }));
const node = await createNode({ name: `v${index}`, identity: seed(index), transport: websocket({ listen: 0, url: bootstrap ? [bootstrap] : [] }),
  ...(storeDir ? { store: fileStore(storeDir) } : {}) });
const chain = node.consensus({ name: 'mp', validators, blsSecretKey: keys[index].blsSecretKey, timeoutMs: 1000 });
// Answers made in one task go out in one write (one per tx was a syscall each under load).
let out = '';
const say = (x) => {
  if (out === '') setImmediate(() => { process.stdout.write(out); out = ''; });
  out += JSON.stringify(x) + '\n';
};
// The height the chain had before any message: what it recovered from its store.
say({ ready: { address: node.address, id: node.id, height: chain.info().height } });
createInterface({ input: process.stdin }).on('line', async (line) => {
  const cmd = JSON.parse(line);
  if (cmd.submit) {
    try {
      const r = await chain.submit(cmd.submit.op, cmd.submit.args, { timeoutMs: 20000 });
      say({ committed: r, id: cmd.id });
    } catch (e) {
      say({ error: { code: e.code, message: e.message }, id: cmd.id });
    }
  } else if (cmd.info) {
    const { view, height } = chain.info();
    say({ view, height, id: cmd.id });
  } else if (cmd.get !== undefined) {
    say({ value: (await chain.state.get(cmd.get)) ?? null, height: chain.info().height });
  }
});
process.stdin.on('end', async () => { chain.close(); await node.close(); process.exit(0); });
