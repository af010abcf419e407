// At-most-once across a restart, on the JS host: a request's dedupe mark ("rpc/dd/...") is written
// ahead through the node's store, and the handler runs only once that write is durable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createNode, memory, MemoryNetwork } from '../js/dist/node.js';
import { memoryStore } from '../js/dist/store.js';
import { waitFor } from './support/wait.mjs';

// A store whose batches holding a dedupe mark stay pending until release() (a slow disk).
function gatedStore() {
  const inner = memoryStore();
  const held = [];
  let gate = true;
  const store = Object.create(inner);
  store.batch = async (ops) => {
    if (gate && ops.some((op) => op.key.includes('/rpc/dd/'))) await new Promise((resolve) => held.push(resolve));
    return inner.batch(ops);
  };
  const release = () => {
    gate = false;
    for (const resolve of held.splice(0)) resolve();
  };
  return { store, inner, held, release };
}

test('rpc: a handler waits until the request\'s dedupe mark is durable in the node\'s store', { timeout: 60000 }, async () => {
  const network = new MemoryNetwork();
  const disk = gatedStore();
  const server = await createNode({ name: 'bank', transport: memory({ network }), store: disk.store });
  const client = await createNode({ name: 'teller', transport: memory({ network }) });
  try {
    let runs = 0;
    server.handle('Bank.Transfer', async () => ++runs);
    await waitFor(() => client.rpc.registry.instances('bank').length > 0, { what: 'discovery' });
    const call = client.call('bank', 'Bank.Transfer', {}, { timeoutMs: 20000 });
    // The mark is drained together with the request's event, and handed to the store after that
    // event was dispatched: a handler not held back would have been called by now.
    await waitFor(() => disk.held.length > 0, { what: 'the dedupe mark written' });
    assert.equal(runs, 0, 'the handler ran before its dedupe mark was durable');
    disk.release();
    assert.equal(await call, 1);
    const { entries } = await disk.inner.list('nitro.node/bank/rpc/dd/');
    assert.equal(entries.length, 1);  // one client session
    const high = new DataView(entries[0][1].buffer, entries[0][1].byteOffset, 8).getBigUint64(0);
    assert.ok(high >= 1n, `mark ${high}`);
  } finally {
    await Promise.all([server.close(), client.close()]);
  }
});
