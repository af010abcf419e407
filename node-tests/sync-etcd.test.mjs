// The sync conformance suite against the etcd backend: a private etcd-server on loopback. Plus
// what only etcd can show here: a leader cut off from its backend steps down by itself.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createNode, etcd } from '../js/dist/node.js';
import { within } from './support/wait.mjs';
import { startEtcd } from './sync-etcd-server.mjs';
import { syncConformance } from './sync-conformance.mjs';

let server;
after(async () => { await server?.stop(); });

syncConformance('etcd', async () => {
  server = await startEtcd();
  return { backend: 'etcd', endpoints: server.endpoints };
});

test('etcd: a leader that cannot reach etcd for a TTL resigns (lost) by itself', async () => {
  const node = await createNode({ sync: etcd({ endpoints: server.endpoints }), joinTimeoutMs: 0 });
  try {
    const lead = node.sync.leader(`cut-${process.pid}`, { ttlMs: 2000 });
    const { term } = await lead.campaign();
    assert.ok(term > 0);
    const resigned = new Promise((resolve) => lead.on('resigned', resolve));
    server.signal('SIGSTOP');
    const stoppedAt = Date.now();
    try {
      const ev = await within(resigned, 6000, 'resigned');
      assert.deepEqual(ev, { term, reason: 'lost' });
      const after = Date.now() - stoppedAt;
      assert.ok(after <= 2000 + 1000, `stepped down ${after} ms after losing etcd`);
      assert.equal(lead.isLeader, false);
    } finally {
      server.signal('SIGCONT');
    }
  } finally {
    await node.close();
  }
});
