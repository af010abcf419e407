// node.sync without a backend and with bad arguments: typed errors, no backend opened.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createNode, NitroError, etcd } from '../js/dist/node.js';

test('sync: no backend is UNAVAILABLE, bad arguments INVALID_ARGUMENT', async () => {
  const node = await createNode({ joinTimeoutMs: 0 });
  try {
    const is = (code) => (e) => e instanceof NitroError && e.code === code;
    await assert.rejects(node.sync.lock('job', { ttlMs: 1000 }), is('UNAVAILABLE'));
    await assert.rejects(node.sync.lock('', { ttlMs: 1000 }), is('INVALID_ARGUMENT'));
    await assert.rejects(node.sync.lock('x'.repeat(257)), is('INVALID_ARGUMENT'));
    await assert.rejects(node.sync.lock('job', { ttlMs: 0 }), is('INVALID_ARGUMENT'));
    await assert.rejects(node.sync.lock('job', { ttlMs: 1000, waitMs: -1 }), is('INVALID_ARGUMENT'));
    const aborted = new AbortController();
    aborted.abort();
    await assert.rejects(node.sync.lock('job', { ttlMs: 1000, signal: aborted.signal }), is('CANCELLED'));
    assert.throws(() => node.sync.leader(''), is('INVALID_ARGUMENT'));
    await assert.rejects(node.sync.leader('office').campaign(), is('UNAVAILABLE'));
    assert.throws(() => etcd({ endpoints: [] }), is('INVALID_ARGUMENT'));
  } finally {
    await node.close();
  }
});
