// createNode's RPC composition: invalid options fail as INVALID_ARGUMENT naming the field (the
// core checks them), and a call made before the service is discovered waits inside the core.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createNode, memory, MemoryNetwork } from '../js/dist/node.js';

test('invalid RPC options are INVALID_ARGUMENT naming the field', async () => {
  for (const [rpc, field] of [[{ window: 0 }, 'window'], [{ window: 1.5 }, 'window'], [{ adIntervalMs: 30000 }, 'ad_interval_ms'],
    [{ retransmitMs: -1 }, 'retransmitMs'], [{ adTtlMs: Number.NaN }, 'adTtlMs']]) {
    await assert.rejects(createNode({ rpc, transport: memory({ network: new MemoryNetwork() }) }),
      (err) => err.code === 'INVALID_ARGUMENT' && err.message.includes(field), JSON.stringify(rpc));
  }
});

test('a call made before discovery waits for the service inside the core', async () => {
  const network = new MemoryNetwork();
  const client = await createNode({ name: 'early-client', transport: memory({ network }) });
  try {
    // Nothing serves "late" yet: the call is held by the core, not failed and not polled from JS.
    const pending = client.call('late', 'Late.Hello', {}, { timeoutMs: 5000 });
    const server = await createNode({ name: 'late', transport: memory({ network }) });
    try {
      server.handle('Late.Hello', () => 'hello');
      assert.equal(await pending, 'hello');
    } finally {
      await server.close();
    }
    // With nothing to discover, the call ends UNAVAILABLE once the discovery wait is over.
    await assert.rejects(client.call('nobody', 'X.Y', {}, { timeoutMs: 300 }), (err) => err.code === 'UNAVAILABLE' || err.code === 'DEADLINE_EXCEEDED');
  } finally {
    await client.close();
  }
});
