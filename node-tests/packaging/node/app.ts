// A Node service using the package's node entry: the core, the BLS half (loaded by init under
// Node), a document kept in fileStore, and RPC plus pub/sub with another process's node over
// WebSocket. Prints one JSON line for the test to check.
import { init, createNode, websocket, fileStore, persist, Doc, Beacon, codec, NitroError, loadBls, blsLoaded } from '@gonitro/nitro';
import type { InitOptions, BeaconVerifyInput, CreateNodeOptions, DocStore } from '@gonitro/nitro';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [url, beaconJson] = process.argv.slice(2);
const beacon = JSON.parse(beaconJson) as BeaconVerifyInput;
const options: InitOptions = {};
await init(options);
await loadBls();

const dir = await mkdtemp(join(tmpdir(), 'nitro-consumer-'));
const store: DocStore = fileStore(dir);
const doc = new Doc();
const saved = await persist(doc, store, 'notes');
doc.getText('t').insert(0, 'kept on disk');
await saved.close();
const again = new Doc();
const reopened = await persist(again, fileStore(dir), 'notes');
const persisted = again.getText('t').toString();
await reopened.close();
await rm(dir, { recursive: true, force: true });

const nodeOptions: CreateNodeOptions = { name: 'consumer', transport: websocket({ url }) };
const node = await createNode(nodeOptions);
const sum = await node.call('adder', 'Pkg.Add', { a: 2, b: 40 }, { timeoutMs: 10000 });
let code = '';
try {
  await node.call('adder', 'Pkg.Missing', {}, { timeoutMs: 2000 });
} catch (e) {
  if (e instanceof NitroError) code = e.code;
}
await node.close();

console.log(JSON.stringify({
  verified: Beacon.verify(beacon),
  bls: blsLoaded(),
  persisted,
  sum,
  code,
  codec: Array.from(codec.encode({ a: 1 })),
}));
