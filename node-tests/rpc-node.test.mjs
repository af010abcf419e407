// RPC on createNode() nodes (memory transport): the issue-5 API on the node itself, with the
// server discovered through gossiped advertisements, over the nodes' secure links.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createNode, NitroError } from '../js/dist/node.js';
import { attachRpc } from '../js/dist/rpc-node.js';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(pred, ms = 10000) {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await sleep(20);
  }
}

test('node.handle / node.call / node.stream between createNode() nodes, discovered by gossip', async () => {
  const a = attachRpc(await createNode({ name: 'greeter' }));
  const b = attachRpc(await createNode({ name: 'rpc-client' }));
  try {
    a.handle('Greeter.Hello', async (req, ctx) => ({ msg: 'hi ' + req.name, from: ctx.peer }));
    a.handle('Greeter.Count', async function* (req) {
      for (let i = 0; i < req.to; i++) yield i;
    });
    a.handle('Greeter.Fail', async () => { throw new NitroError('PERMISSION_DENIED', 'no'); });
    await until(() => b.rpc.registry.instances('greeter').length > 0);
    assert.equal(b.rpc.registry.instances('greeter')[0].peer, a.id);
    const rsp = await b.call('greeter', 'Greeter.Hello', { name: 'x' }, { timeoutMs: 2000 });
    assert.deepEqual(rsp, { msg: 'hi x', from: b.id });
    // Every node answers Node.Info: who it is, what it serves, whom it is linked to.
    const info = await b.call('greeter', 'Node.Info', {}, { timeoutMs: 2000 });
    assert.equal(info.id, a.id);
    assert.equal(info.name, 'greeter');
    assert.deepEqual(info.methods, ['Greeter.Count', 'Greeter.Fail', 'Greeter.Hello', 'Node.Info']);
    assert.ok(info.peers.some((p) => p.id === b.id));
    const got = [];
    for await (const i of b.stream('greeter', 'Greeter.Count', { to: 40 })) got.push(i);
    assert.deepEqual(got, Array.from({ length: 40 }, (_, i) => i));
    await assert.rejects(b.call('greeter', 'Greeter.Fail', {}), (err) => err.code === 'PERMISSION_DENIED');
    await assert.rejects(b.call('greeter', 'Greeter.Nope', {}), (err) => err.code === 'UNIMPLEMENTED');
  } finally {
    await b.close();
    await a.close();
  }
});
