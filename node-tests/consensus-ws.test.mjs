// The chain across 4 Node processes over WebSocket, each with its records in a fileStore: txs
// commit; one validator is SIGKILLed, the other three keep committing (2f+1 of 4); restarted
// alone (no peers) it has its committed chain back from disk; restarted with peers, it catches up
// by block sync and reaches the same state.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { waitFor } from './support/wait.mjs';

const script = new URL('./support/chain-validator.mjs', import.meta.url).pathname;

const dirs = [0, 1, 2, 3].map((i) => mkdtempSync(path.join(os.tmpdir(), `nitro-chain-ws${i}-`)));
// Every validator process started, so a failed or timed-out test still leaves none running.
const children = new Set();
after(async () => {
  const exits = [...children].filter((c) => c.exitCode === null && c.signalCode === null)
    .map((c) => new Promise((resolve) => { c.once('exit', resolve); c.kill('SIGKILL'); }));
  await Promise.all(exits);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function start(index, bootstrap = '') {
  const child = spawn(process.execPath, [script, String(index), bootstrap, dirs[index]], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.add(child);
  child.stdin.on('error', () => {});  // a write to a validator that just died: its ask resolves with an error
  const lines = createInterface({ input: child.stdout });
  const waiting = [];
  const v = { child, ready: undefined };
  v.ready = new Promise((resolve, reject) => {
    lines.on('line', (line) => {
      const msg = JSON.parse(line);
      if (msg.ready) resolve(msg.ready); else waiting.shift()?.(msg);
    });
    child.once('exit', (code) => {
      reject(new Error(`validator ${index} exited (${code})`));
      for (const w of waiting.splice(0)) w({ error: { code: 'EXITED', message: `validator ${index} exited` } });
    });
  });
  v.ready.catch(() => {});  // an exit after ready is expected (SIGKILL); before it, ready's awaiter sees it
  v.ask = (cmd) => new Promise((resolve) => { waiting.push(resolve); child.stdin.write(JSON.stringify(cmd) + '\n'); });
  return v;
}

test('consensus over WebSocket: 4 processes commit, one is SIGKILLed and restarted and catches up', { timeout: 120000 }, async () => {
  const vs = [start(0)];
  const { address } = await vs[0].ready;
  for (let i = 1; i < 4; i++) vs.push(start(i, address));
  await Promise.all(vs.map((v) => v.ready));
  try {
    const first = await vs[1].ask({ submit: { op: 'kv.put', args: { key: 'a', value: 1 } } });
    assert.ok(first.committed, JSON.stringify(first));
    for (let i = 0; i < 10; i++) {
      const r = await vs[i % 4].ask({ submit: { op: 'kv.put', args: { key: `k${i}`, value: i } } });
      assert.ok(r.committed, JSON.stringify(r));
    }
    const before = await vs[3].ask({ get: 'k5' });
    assert.equal(before.value, 5);
    const exited = new Promise((resolve) => vs[3].child.once('exit', resolve));
    vs[3].child.kill('SIGKILL');
    for (let i = 10; i < 15; i++) {
      const r = await vs[i % 3].ask({ submit: { op: 'kv.put', args: { key: `k${i}`, value: i } } });
      assert.ok(r.committed, `commit with one validator down: ${JSON.stringify(r)}`);
    }
    // Alone, with no peer to learn from, the restarted validator has what it committed.
    await exited;
    vs[3] = start(3, '');
    // Its height before any message (it may reach remembered peers afterwards) is what it read from disk.
    const alone = await vs[3].ready;
    // The reply to `get` does not wait for the store: the last write batch or two may be lost.
    assert.ok(alone.height + 2 >= before.height, `height from disk ${alone.height} vs ${before.height} before`);
    const fromDisk = await vs[3].ask({ get: 'k5' });
    assert.equal(fromDisk.value, 5, 'restored from disk');
    assert.ok(fromDisk.height + 2 >= before.height, `height ${fromDisk.height} vs ${before.height} before`);
    const aloneExited = new Promise((resolve) => vs[3].child.once('exit', resolve));
    vs[3].child.kill('SIGKILL');
    await aloneExited;
    vs[3] = start(3, address);
    await vs[3].ready;
    const target = (await vs[0].ask({ get: 'k14' })).height;
    await waitFor(async () => (await vs[3].ask({ get: 'k14' })).value === 14, { timeoutMs: 60000, intervalMs: 250, what: 'the restarted validator caught up' });
    const back = await vs[3].ask({ get: 'k5' });
    assert.equal(back.value, 5);
    assert.ok(back.height >= target);
  } finally {
    const exits = vs.map((v) => (v.child.exitCode === null && v.child.signalCode === null ? new Promise((r) => v.child.once('exit', r)) : undefined));
    for (const v of vs) { v.child.stdin.end(); v.child.kill('SIGKILL'); }
    await Promise.all(exits);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
});
