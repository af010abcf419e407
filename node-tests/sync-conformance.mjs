// The sync conformance suite: the same node:test cases against every backend of node.sync, each
// case with real processes (sync-worker.mjs). syncConformance(label, setup) registers the cases;
// setup() resolves to the worker config ({ backend, ... }) and is called once, before them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ChildProcess } from './support/child.mjs';
import { waitFor } from './support/wait.mjs';

const worker = join(dirname(fileURLToPath(import.meta.url)), 'sync-worker.mjs');
const kTtlMs = 2000;          // etcd's smallest lease with default settings

// options.processesMin: processes per case at least (the chain needs 4 validators; the extra ones
// only validate); options.killRounds: leaders killed in the election case (each kill must leave
// the backend running: a 4-validator chain survives one); options.slackMs: the stated bound on a
// grant after a lapse, beyond the TTL (the backend noticing the lapse, the waiter hearing of it).
export function syncConformance(label, setup, { processesMin = 1, killRounds = 2, slackMs = 2000 } = {}) {
  const kReelectSlackMs = slackMs;
  let config;
  const children = new Set();
  let run = 0;

  function spawn(i, extra = {}) {
    const child = new ChildProcess(`w${i}`, worker, [JSON.stringify({ ...config, ...extra, name: `w${i}` })], { replyTimeoutMs: 60000 });
    children.add(child);
    return child;
  }

  async function spawnWorkers(count) {
    const total = Math.max(count, processesMin);
    const list = [spawn(0)];
    const first = await list[0].next((e) => e.ev === 'ready', 20000, 'worker ready');
    for (let i = 1; i < total; i++) list.push(spawn(i, { bootstrap: first.address ? [first.address] : [] }));
    const ready = await Promise.all(list.map((c) => c.next((e) => e.ev === 'ready', 20000, 'worker ready')));
    if (config.backend === 'chain') {
      const ids = ready.map((e) => e.id);
      await Promise.all(list.map((c, index) => c.request('joinChain', { ids, index })));
    }
    return list.slice(0, count);
  }

  async function closeAll() {
    for (const c of children) {
      if (c.child.exitCode === null && c.child.signalCode === null) {
        c.child.kill('SIGCONT');
        c.child.kill('SIGKILL');
      }
      await c.exited;
    }
    children.clear();
  }

  const name = (what) => `${what}-${process.pid}-${++run}`;

  before(async () => { config = await setup(); });
  after(closeAll);

  test(`${label}: mutual exclusion across processes, tokens strictly increasing`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nitro-sync-'));
    const log = join(dir, 'log');
    writeFileSync(log, '');
    try {
      const workers = await spawnWorkers(3);
      const lock = name('mutex');
      const rounds = 8;
      const counter = name('counter');
      await Promise.all(workers.map((w) => w.request('critical', { name: lock, rounds, log, counter, ttlMs: 10000 })));
      const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split(' '));
      assert.equal(lines.length, 2 * rounds * workers.length);
      let last = 0;
      for (let i = 0; i < lines.length; i += 2) {  // enter/exit pairs, never interleaved
        const [enter, exit] = [lines[i], lines[i + 1]];
        assert.deepEqual([enter[0], exit[0]], ['enter', 'exit'], `line ${i}`);
        assert.equal(enter[1], exit[1]);
        assert.equal(enter[2], exit[2]);
        assert.ok(Number(enter[2]) > last, `token ${enter[2]} after ${last}`);
        last = Number(enter[2]);
      }
      // Read-modify-write under the lock lost no update.
      const { value } = await workers[0].request('get', { key: counter });
      assert.equal(value, String(rounds * workers.length));
    } finally {
      await closeAll();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`${label}: a lease lapses after ttlMs on the backend's clock, not before`, async () => {
    try {
      const [a, b] = await spawnWorkers(2);
      const lock = name('expiry');
      const first = await a.request('lock', { name: lock, ttlMs: kTtlMs });
      const second = await b.request('lock', { name: lock, ttlMs: kTtlMs, waitMs: 4 * kTtlMs });
      assert.equal(second.failed, undefined, second.message);
      // Not before the TTL counted from the first request, not long after it counted from its grant.
      const atLeast = second.at - first.startedAt;
      const atMost = second.at - first.at;
      assert.ok(atLeast >= kTtlMs, `granted ${atLeast} ms after the first request, TTL ${kTtlMs}`);
      assert.ok(atMost <= kTtlMs + kReelectSlackMs, `granted ${atMost} ms after the first grant, TTL ${kTtlMs}`);
      console.log(`# ${label}: lease of ${kTtlMs} ms granted on ${atMost} ms after the first grant`);
      assert.ok(second.token > first.token);
      const renew = await a.request('renew', { name: lock });
      assert.equal(renew.failed, 'PERMISSION_DENIED');
    } finally {
      await closeAll();
    }
  });

  test(`${label}: waiters are served FIFO in request order, one per release`, async () => {
    try {
      const [a, b, c, d] = await spawnWorkers(4);
      const lock = name('fifo');
      await a.request('lock', { name: lock, ttlMs: 20000 });
      const order = [];
      const waiting = [];
      for (const w of [b, c, d]) {  // each request is queued before the next is made
        waiting.push(w.request('lock', { name: lock, ttlMs: 20000 }).then((r) => { order.push(w.name); return r; }));
        await w.next((e) => e.ev === 'queued', 10000, `${w.name} queued`);
      }
      await a.request('release', { name: lock });
      const tokens = [];
      for (const [i, w] of [b, c, d].entries()) {
        const got = await waiting[i];
        tokens.push(got.token);
        assert.deepEqual(order, [b, c, d].slice(0, i + 1).map((x) => x.name), 'one waiter per release, in order');
        await w.request('release', { name: lock });
      }
      assert.ok(tokens[0] < tokens[1] && tokens[1] < tokens[2]);
    } finally {
      await closeAll();
    }
  });

  test(`${label}: a wait that runs out or is aborted leaves the queue`, async () => {
    try {
      const [a, b, c] = await spawnWorkers(3);
      const lock = name('wait');
      await a.request('lock', { name: lock, ttlMs: 20000 });
      const timedOut = await b.request('lock', { name: lock, ttlMs: 20000, waitMs: 300 });
      assert.equal(timedOut.failed, 'DEADLINE_EXCEEDED');
      const busy = await b.request('lock', { name: lock, ttlMs: 20000, waitMs: 0 });
      assert.equal(busy.failed, 'DEADLINE_EXCEEDED');
      const aborted = b.request('lock', { name: lock, ttlMs: 20000, abortAfterQueued: true });
      assert.equal((await aborted).failed, 'CANCELLED');
      // Neither left a place behind: c, queued now, is next when a releases.
      const next = c.request('lock', { name: lock, ttlMs: 20000 });
      await c.next((e) => e.ev === 'queued', 10000, 'c queued');
      await a.request('release', { name: lock });
      assert.equal((await next).failed, undefined);
      assert.equal((await c.request('release', { name: lock })).failed, undefined);
    } finally {
      await closeAll();
    }
  });

  test(`${label}: release by a non-holder is PERMISSION_DENIED`, async () => {
    try {
      const [a, b] = await spawnWorkers(2);
      const lock = name('perm');
      const { token } = await a.request('lock', { name: lock, ttlMs: 20000 });
      const refused = await b.request('release', { name: lock, token });
      assert.equal(refused.failed, 'PERMISSION_DENIED');
      const wrongToken = await a.request('release', { name: lock, token: token + 1 });
      assert.equal(wrongToken.failed, 'PERMISSION_DENIED');
      assert.equal((await a.request('release', { name: lock })).failed, undefined);
      assert.equal((await a.request('release', { name: lock, token })).failed, 'PERMISSION_DENIED');
    } finally {
      await closeAll();
    }
  });

  test(`${label}: a holder paused past its TTL cannot write with its stale token`, async () => {
    try {
      const [a, b] = await spawnWorkers(2);
      const lock = name('pause');
      const key = name('resource');
      await a.request('lock', { name: lock, ttlMs: kTtlMs });
      await a.request('writeLoop', { name: lock, key, intervalMs: 50 });
      await a.next((e) => e.ev === 'wrote' && e.ok, 5000, 'a first accepted write');
      a.child.kill('SIGSTOP');
      const stoppedAt = Date.now();
      const taken = await b.request('lock', { name: lock, ttlMs: 20000, waitMs: 4 * kTtlMs });
      assert.equal(taken.failed, undefined, taken.message);
      assert.ok(Date.now() - stoppedAt < 4 * kTtlMs);
      await b.request('put', { name: lock, key, value: 'b' });
      const resumedAt = Date.now();
      a.child.kill('SIGCONT');
      // Writes the resumed process attempts from now on: every one refused.
      const attemptsAfter = () => a.events.filter((e) => e.ev === 'wrote' && e.at >= resumedAt);
      await waitFor(() => attemptsAfter().length >= 3, { timeoutMs: 20000, what: 'three writes after resuming' });
      const after = attemptsAfter();
      for (const w of after) assert.deepEqual([w.ok, w.code], [false, 'FAILED_PRECONDITION'], JSON.stringify(w));
      assert.equal((await b.request('get', { key })).value, 'b');
      await a.request('stopWriteLoop');
      assert.equal((await a.request('renew', { name: lock })).failed, 'PERMISSION_DENIED');
    } finally {
      await closeAll();
    }
  });

  test(`${label}: once its lease lapsed a paused holder cannot write, even with the lock free`, async () => {
    try {
      const [a, b] = await spawnWorkers(2);
      const lock = name('lapse');
      const key = name('resource');
      await a.request('lock', { name: lock, ttlMs: kTtlMs });
      await a.request('put', { name: lock, key, value: 'a' });
      a.child.kill('SIGSTOP');
      await waitFor(async () => (await b.request('holder', { name: lock })).holder === null,
        { timeoutMs: 4 * kTtlMs, intervalMs: 100, what: 'the lease to lapse' });
      a.child.kill('SIGCONT');
      const late = await a.request('put', { name: lock, key, value: 'late' });
      assert.equal(late.failed, 'FAILED_PRECONDITION');
      assert.equal((await b.request('get', { key })).value, 'a');
    } finally {
      await closeAll();
    }
  });

  test(`${label}: leader election across 3 processes, one leader per term, re-election after a kill`, async () => {
    try {
      const workers = await spawnWorkers(3);
      const office = name('leader');
      for (const w of workers) await w.request('campaign', { name: office, ttlMs: kTtlMs });
      const electedBy = new Map();  // term -> worker name
      const elected = () => workers.flatMap((w) => w.events.filter((e) => e.ev === 'elected').map((e) => ({ w, ...e })));
      const newLeader = async (exclude) => {
        const alive = workers.filter((w) => !exclude.includes(w));
        return Promise.any(alive.map((w) => w.next((e) => e.ev === 'elected' && !electedBy.has(e.term), 20000, 'elected')
          .then((e) => ({ w, ...e }))));
      };
      const killed = [];
      let first = await newLeader(killed);
      electedBy.set(first.term, first.w.name);
      const bounds = [];
      for (let round = 0; round < killRounds; round++) {
        // Every live process agrees on who leads.
        for (const w of workers.filter((x) => !killed.includes(x))) {
          await w.next((e) => e.ev === 'changed' && e.leader?.term === first.term, 10000, 'changed to the leader');
        }
        first.w.child.kill('SIGKILL');
        const killedAt = Date.now();
        killed.push(first.w);
        const next = await newLeader(killed);
        bounds.push(Date.now() - killedAt);
        assert.ok(next.term > first.term);
        electedBy.set(next.term, next.w.name);
        first = next;
      }
      for (const ms of bounds) assert.ok(ms <= kTtlMs + kReelectSlackMs, `re-elected after ${ms} ms`);
      // Exactly one leader per term, ever.
      const byTerm = new Map();
      for (const e of elected()) {
        assert.ok(!byTerm.has(e.term) || byTerm.get(e.term) === e.w.name, `term ${e.term} twice`);
        byTerm.set(e.term, e.w.name);
      }
      assert.equal(byTerm.size, killRounds + 1);
      console.log(`# ${label}: re-elected after ${bounds.join(' ms, ')} ms (TTL ${kTtlMs} ms)`);
    } finally {
      await closeAll();
    }
  });
}
