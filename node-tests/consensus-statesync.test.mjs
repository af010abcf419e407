// State sync across processes: 4 validators in 4 Node processes over WebSocket, each with a
// fileStore. One is SIGKILLed and its directory wiped; the other three commit well past a
// certified snapshot and more heights than block sync bridges (192). Started again with an empty
// store, it installs a snapshot (checked against the certified state root), block-syncs the rest
// and reads the keys written before it came back.
//
// This file is also the validator process: `node consensus-statesync.test.mjs child <index> <bootstrap> <dir>`.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);
const kSyncGap = 192;  // heights block sync bridges (kSyncGapMax); further behind takes a snapshot

if (process.argv[2] === 'child') {
  await runValidator(...process.argv.slice(3));
} else {
  defineTest();
}

async function runValidator(indexText, bootstrap, storeDir) {
  const { createNode, websocket, chainKeys, fileStore, Identity, init } = await import('../js/dist/node.js');
  await init();
  const index = Number(indexText);
  const seed = (i) => new Uint8Array(32).fill(110 + i);
  const keys = [0, 1, 2, 3].map((i) => chainKeys(new Uint8Array(32).fill(210 + i)));
  const validators = [0, 1, 2, 3].map((i) => ({ id: Identity.fromSeed(seed(i)).peerId, blsPublicKey: keys[i].blsPublicKey, blsPop: keys[i].blsPop }));
  const node = await createNode({ name: `s${index}`, identity: seed(index), transport: websocket({ listen: 0, url: bootstrap ? [bootstrap] : [] }),
    store: fileStore(storeDir) });
  // Short empty-block gaps and snapshots every 16 heights so the chain gets far ahead quickly.
  const chain = node.consensus({ name: 'ss', validators, blsSecretKey: keys[index].blsSecretKey, timeoutMs: 1000, emptyBlockMs: 10, snapshotInterval: 16 });
  const say = (x) => process.stdout.write(JSON.stringify(x) + '\n');
  say({ ready: { address: node.address, height: chain.info().height } });
  createInterface({ input: process.stdin }).on('line', async (line) => {
    const cmd = JSON.parse(line);
    if (cmd.submit) {
      try {
        say({ committed: await chain.submit(cmd.submit.op, cmd.submit.args, { timeoutMs: 20000 }) });
      } catch (e) {
        say({ error: { code: e.code, message: e.message } });
      }
    } else if (cmd.get !== undefined) {
      const { height, snapshotsInstalled, stateRoot } = chain.info();
      say({ value: (await chain.state.get(cmd.get)) ?? null, height, snapshotsInstalled, stateRoot: Buffer.from(stateRoot).toString('hex') });
    }
  });
  process.stdin.on('end', async () => { chain.close(); await node.close(); process.exit(0); });
}

function defineTest() {
  const dirs = [0, 1, 2, 3].map((i) => mkdtempSync(path.join(os.tmpdir(), `nitro-chain-ss${i}-`)));
  const children = new Set();
  after(async () => {
    const exits = [...children].filter((c) => c.exitCode === null && c.signalCode === null)
      .map((c) => new Promise((resolve) => { c.once('exit', resolve); c.kill('SIGKILL'); }));
    await Promise.all(exits);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  function start(index, bootstrap = '') {
    const child = spawn(process.execPath, [self, 'child', String(index), bootstrap, dirs[index]], { stdio: ['pipe', 'pipe', 'inherit'] });
    children.add(child);
    child.stdin.on('error', () => {});
    const lines = createInterface({ input: child.stdout });
    const waiting = [];
    const v = { child };
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
    v.ready.catch(() => {});
    v.ask = (cmd) => new Promise((resolve) => { waiting.push(resolve); child.stdin.write(JSON.stringify(cmd) + '\n'); });
    v.exited = new Promise((resolve) => child.once('exit', resolve));
    return v;
  }

  // Polls `fn` until it returns a truthy value (each poll is a round trip to a validator process).
  async function until(fn, what, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await fn();
      if (r) return r;
      if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  test('consensus state sync: a wiped validator process catches up from a snapshot after the others moved on', { timeout: 180000 }, async () => {
    const vs = [start(0)];
    const { address } = await vs[0].ready;
    for (let i = 1; i < 4; i++) vs.push(start(i, address));
    await Promise.all(vs.map((v) => v.ready));
    try {
      for (let i = 0; i < 8; i++) {
        const r = await vs[i % 4].ask({ submit: { op: 'kv.put', args: { key: `early${i}`, value: i } } });
        assert.ok(r.committed, JSON.stringify(r));
      }
      vs[3].child.kill('SIGKILL');
      await vs[3].exited;
      rmSync(dirs[3], { recursive: true, force: true });
      mkdirSync(dirs[3]);
      const down = (await vs[0].ask({ get: 'early0' })).height;
      // The others commit more heights than block sync bridges (empty blocks keep coming).
      await until(async () => (await vs[0].ask({ get: 'early0' })).height > down + kSyncGap + 32, 'the chain moved on', 120000);
      const late = await vs[1].ask({ submit: { op: 'kv.put', args: { key: 'late', value: 'after' } } });
      assert.ok(late.committed, JSON.stringify(late));
      vs[3] = start(3, address);
      const fresh = await vs[3].ready;
      assert.equal(fresh.height, 0, 'a wiped store recovers nothing');
      const target = late.committed.height;
      const caught = await until(async () => {
        const r = await vs[3].ask({ get: 'late' });
        return r.value === 'after' && r.height >= target ? r : undefined;
      }, 'the wiped validator caught up', 60000);
      assert.ok(caught.snapshotsInstalled >= 1, 'it installed a state snapshot');
      for (let i = 0; i < 8; i++) assert.equal((await vs[3].ask({ get: `early${i}` })).value, i, `early${i} from the snapshot`);
      // Same state as a validator that never left: no tx came after 'late', and empty blocks do
      // not move the root, so both roots are the state after it.
      const ref = await vs[0].ask({ get: 'late' });
      assert.equal((await vs[3].ask({ get: 'late' })).stateRoot, ref.stateRoot);
    } finally {
      const exits = vs.map((v) => (v.child.exitCode === null && v.child.signalCode === null ? v.exited : undefined));
      for (const v of vs) { v.child.stdin.end(); v.child.kill('SIGKILL'); }
      await Promise.all(exits);
    }
  });
}
