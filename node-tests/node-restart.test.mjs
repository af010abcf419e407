// A publisher killed with SIGKILL and restarted (same fileStore, same identity) is heard again:
// every message it publishes after the restart reaches the subscribers in the other processes
// exactly once, and none of its earlier messages is delivered twice. Real processes over
// WebSocket on loopback; the kill lands while publishes are in flight (no clean close()).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnNodes } from './support/child.mjs';

const script = fileURLToPath(new URL('./support/store-node.mjs', import.meta.url));
const identity = '07'.repeat(32);
const kDeliverMs = 20000;  // bound for the post-restart messages (a 2 s ordering gap included)

const nodes = spawnNodes(script);
const dirs = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const start = (name, bootstrap, env = {}) => nodes.start(name, [name, ...bootstrap], { env: { ...process.env, ...env } });

const received = (p, from) => p.events.filter((e) => e.ev === 'message' && e.from === from);

test('node restart: a SIGKILLed publisher restarted from its fileStore is delivered exactly once', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nitro-restart-'));
  dirs.push(dir);
  const s1 = await start('s1', []);
  const s2 = await start('s2', [s1.address]);
  for (const s of [s1, s2]) await s.request('subscribe', { topic: 't' });
  const env = { NITRO_TEST_STORE_DIR: dir, NITRO_TEST_IDENTITY: identity };

  const p1 = await start('pub', [s1.address, s2.address], env);
  const first = Array.from({ length: 20 }, (_, i) => i);
  await p1.request('publishMany', { topic: 't', values: first });
  for (const s of [s1, s2]) await s.next(() => received(s, p1.id).length >= 20, kDeliverMs, 'the first 20');
  // More publishes in flight, then SIGKILL without waiting for them: some may be lost, none may repeat.
  p1.child.stdin.write(JSON.stringify({ cmd: 'publishMany', topic: 't', values: [1000, 1001, 1002, 1003, 1004] }) + '\n');
  p1.child.kill('SIGKILL');
  assert.equal((await p1.exited).signal, 'SIGKILL');

  const p2 = await start('pub', [s1.address, s2.address], env);
  assert.equal(p2.id, p1.id, 'the identity comes back from the store');
  const second = Array.from({ length: 20 }, (_, i) => 2000 + i);
  const { seqs } = await p2.request('publishMany', { topic: 't', values: second });
  // The sentinel goes last: per-publisher delivery is in order, so once it is in, every message
  // before it has had its one chance to arrive.
  await p2.request('publishMany', { topic: 't', values: [9999] });
  for (const s of [s1, s2]) {
    await s.next((e) => e.ev === 'message' && e.from === p2.id && e.msg === 9999, kDeliverMs, 'the sentinel');
    const got = received(s, p2.id);
    const values = got.map((e) => e.msg);
    for (const v of second) assert.equal(values.filter((x) => x === v).length, 1, `${s.name}: ${v} exactly once`);
    for (const v of first) assert.equal(values.filter((x) => x === v).length, 1, `${s.name}: ${v} never twice`);
    const keys = got.map((e) => e.seq);
    assert.equal(new Set(keys).size, keys.length, `${s.name}: no sequence number delivered twice`);
    assert.ok(Math.min(...seqs) > Math.max(...got.filter((e) => e.msg < 2000).map((e) => e.seq)), 'new numbers above the old');
  }
  for (const p of [p2, s1, s2]) await p.request('close');
  for (const p of [p2, s1, s2]) assert.equal((await p.exited).code, 0);
});
