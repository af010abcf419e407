// RPC between processes on the node's own WebSocket transport (secure links, gossip discovery):
// unary, server streaming, error codes, round-robin over 3 instances, and an idempotent retry
// that moves to another instance when one process is killed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createNode, websocket } from '../js/dist/node.js';
import { waitFor } from './support/wait.mjs';

const script = new URL('./support/rpc-node-server.mjs', import.meta.url).pathname;

function startServer(bootstrap) {
  const child = spawn(process.execPath, [script, ...(bootstrap ? [bootstrap] : [])], { stdio: ['pipe', 'pipe', 'inherit'] });
  const ready = new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', (line) => resolve(JSON.parse(line)));
    child.once('exit', (code) => reject(new Error(`server exited early (${code})`)));
  });
  return { child, ready };
}

test('rpc over WebSocket between processes: discovery, unary, streams, errors, round-robin, failover', { timeout: 90000 }, async () => {
  const first = startServer();
  const { address } = await first.ready;
  const others = [startServer(address), startServer(address)];
  const servers = [first, ...others];
  const ids = (await Promise.all(servers.map((s) => s.ready))).map((r) => r.id);
  const client = await createNode({ name: 'client', transport: websocket({ url: [address] }) });
  try {
    await waitFor(() => client.rpc.registry.instances('greeter').length === 3, { timeoutMs: 30000, what: '3 greeter instances discovered' });

    assert.equal((await client.call('greeter', 'Greeter.Hello', { name: 'ws' }, { timeoutMs: 5000 })).msg, 'hi ws');
    const items = [];
    for await (const n of client.stream('greeter', 'Greeter.Count', { to: 5 }, { timeoutMs: 5000 })) items.push(n);
    assert.deepEqual(items, [0, 1, 2, 3, 4]);
    await assert.rejects(client.call('greeter', 'Greeter.Fail', {}, { timeoutMs: 5000 }), { code: 'PERMISSION_DENIED' });
    await assert.rejects(client.call('greeter', 'Greeter.Nope', {}, { timeoutMs: 5000 }), { code: 'UNIMPLEMENTED' });

    const counts = new Map();
    for (let i = 0; i < 30; i++) {
      const rsp = await client.call('greeter', 'Greeter.Hello', { name: String(i) }, { timeoutMs: 5000, strategy: 'round-robin' });
      counts.set(rsp.from, (counts.get(rsp.from) ?? 0) + 1);
    }
    assert.deepEqual([...counts.keys()].sort(), [...ids].sort());
    for (const n of counts.values()) assert.equal(n, 10);

    servers[1].child.kill('SIGKILL');
    const answeredBy = new Set();
    for (let i = 0; i < 9; i++) {
      const rsp = await client.call('greeter', 'Greeter.Hello', { name: 'again' },
        { timeoutMs: 8000, attemptTimeoutMs: 1500, retries: 2, idempotent: true, strategy: 'round-robin' });
      answeredBy.add(rsp.from);
    }
    assert.ok(!answeredBy.has(ids[1]), 'the killed instance answered');
    assert.ok(answeredBy.size >= 1);
  } finally {
    await client.close();
    for (const s of servers) { s.child.stdin.end(); s.child.kill('SIGTERM'); }
  }
});
