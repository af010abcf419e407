// One process of the sync conformance suite: a createNode node with the backend named on the
// command line, driven over JSON lines (support/child.mjs). Replies are {"ev":"reply","cmd",...};
// other events: queued (a lock request holds its place), elected / resigned / changed (leader),
// wrote (one guarded write of the write loop, accepted or refused).
import { createInterface } from 'node:readline';
import { appendFileSync } from 'node:fs';
import { createNode, etcd, chainSync, chainKeys, websocket } from '../js/dist/node.js';

const config = JSON.parse(process.argv[2]);
const out = (msg) => process.stdout.write(JSON.stringify(msg) + '\n');

// etcd: the backend is ready at once. chain: the node listens on a WebSocket, and the joinChain
// command (once every process is up) makes it a validator and points node.sync at the chain.
const node = config.backend === 'etcd'
  ? await createNode({ name: config.name, sync: etcd({ endpoints: config.endpoints }), joinTimeoutMs: 0 })
  : await createNode({ name: config.name, transport: websocket({ listen: 0, url: config.bootstrap ?? [] }), joinTimeoutMs: 0 });
const held = new Map();   // lock name -> handle
let leader;
let writeLoop;

const commands = {
  id: async () => ({ id: node.id, pid: process.pid }),

  // Validators are every process of the run; validator i's BLS key comes from seed i + 1.
  joinChain: async ({ ids, index }) => {
    const keys = ids.map((_, i) => chainKeys(new Uint8Array(32).fill(i + 1)));
    const validators = ids.map((id, i) => ({ id, blsPublicKey: keys[i].blsPublicKey, blsPop: keys[i].blsPop }));
    const chain = node.consensus({ name: 'sync', validators, blsSecretKey: keys[index].blsSecretKey, timeoutMs: 500, emptyBlockMs: 100 });
    node.sync.use(chainSync(chain));
    await chain.submit('kv.put', { key: `joined-${index}`, value: 1 });  // the chain commits
    return {};
  },

  lock: async ({ name, ttlMs, waitMs, abortAfterQueued }) => {
    const abort = new AbortController();
    const onQueued = () => {
      out({ ev: 'queued', name });
      if (abortAfterQueued) abort.abort();
    };
    const startedAt = Date.now();  // no lease can begin before its request was made
    const handle = await node.sync.lock(name, { ttlMs, waitMs, signal: abort.signal, onQueued });
    held.set(name, handle);
    return { token: handle.token, startedAt, at: Date.now() };
  },
  renew: async ({ name }) => { await held.get(name).renew(); return {}; },
  release: async ({ name, token }) => {
    if (token !== undefined) { await node.sync.release(name, token); return {}; }
    await held.get(name).release();
    held.delete(name);
    return {};
  },
  put: async ({ name, key, value }) => { await held.get(name).put(key, value); return {}; },
  get: async ({ key }) => ({ value: await node.sync.get(key) ?? null }),
  holder: async ({ name }) => ({ holder: await node.sync.holder(name) ?? null }),

  // Mutual exclusion: read-modify-write a counter under the lock, logging entry and exit to a file
  // shared by all processes (O_APPEND); overlapping critical sections show in that log.
  critical: async ({ name, rounds, log, counter, ttlMs }) => {
    for (let i = 0; i < rounds; i++) {
      const lock = await node.sync.lock(name, { ttlMs });
      appendFileSync(log, `enter ${process.pid} ${lock.token}\n`);
      const count = Number(await node.sync.get(counter) ?? 0);
      await new Promise((resolve) => setTimeout(resolve, 2));
      await lock.put(counter, String(count + 1));
      appendFileSync(log, `exit ${process.pid} ${lock.token}\n`);
      await lock.release();
    }
    return {};
  },

  // Writes `key` guarded by the held lock every intervalMs until stopped, reporting each attempt.
  writeLoop: async ({ name, key, intervalMs }) => {
    const handle = held.get(name);
    let seq = 0;
    writeLoop = setInterval(() => {
      const n = ++seq;
      const at = Date.now();
      handle.put(key, `${process.pid}:${n}`).then(
        () => out({ ev: 'wrote', seq: n, at, ok: true }),
        (e) => out({ ev: 'wrote', seq: n, at, ok: false, code: e.code }));
    }, intervalMs);
    return {};
  },
  stopWriteLoop: async () => { clearInterval(writeLoop); return {}; },

  campaign: async ({ name, ttlMs }) => {
    leader = node.sync.leader(name, { ttlMs });
    leader.on('elected', ({ term }) => out({ ev: 'elected', term, at: Date.now() }));
    leader.on('resigned', ({ term, reason }) => out({ ev: 'resigned', term, reason }));
    leader.on('changed', ({ leader: l }) => out({ ev: 'changed', leader: l ?? null }));
    leader.campaign().catch((e) => out({ ev: 'campaignFailed', code: e.code, message: e.message }));
    return {};
  },
  resign: async () => { await leader.resign(); return {}; },

  close: async () => { await node.close(); setImmediate(() => process.exit(0)); return {}; },
};

createInterface({ input: process.stdin }).on('line', async (line) => {
  const msg = JSON.parse(line);
  try {
    out({ ev: 'reply', cmd: msg.cmd, ...(await commands[msg.cmd](msg)) });
  } catch (e) {
    out({ ev: 'reply', cmd: msg.cmd, failed: e.code ?? 'UNKNOWN', message: e.message });
  }
});
out({ ev: 'ready', id: node.id, address: node.address ?? null });
