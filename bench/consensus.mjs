// The chain against etcd (Raft, the crash-fault baseline): committed writes per second and p50/p99
// commit latency, side by side in one run.
//   nitro native: 4 validators (nitro::Node + ConsensusProtocol, secure links, BLS QCs) in one
//     process on the simulator with 1 ms links (build/native/consensus_bench): tx/s over wall
//     time, latency in virtual ms from submission to commit.
//   etcd: a 3-member cluster (Debian etcd-server) on free loopback ports, `clients` concurrent
//     clients doing puts of the same value size through the v3 JSON gateway (HTTP keep-alive).
//   nitro 4 processes: 4 validator processes (wasm core, WebSocket transport, secure links;
//     node-tests/support/chain-validator.mjs); `clients` concurrent submitters spread over them.
// Load model, the same for etcd and the 4-process chain: `clients` clients, each keeping `window`
// writes in flight (closed loop per slot: a slot sends its next write when its previous one is
// acknowledged — committed for the chain, a 200 from etcd). An etcd slot is one keep-alive HTTP
// connection (HTTP/1.1 has one request in flight per connection); a chain slot is one pending
// submit on the validator the client is attached to. window 1 is the one-write-per-client model.
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import http from 'node:http';

// CPU seconds a process used so far (utime + stime from /proc; Linux clock ticks of 10 ms). On a
// shared, loaded machine wall-clock rates mostly measure the other tenants; tx per CPU second does not.
const cpuSeconds = (pids) => pids.reduce((sum, pid) => {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return sum + (Number(fields[11]) + Number(fields[12])) / 100;
  } catch { return sum; }
}, 0);

// The bench driver's own CPU (user + system µs) since `from`: it shares the machine's cores with
// the servers, so it is reported beside them, not inside their writes per CPU-second.
const driverMicros = (from) => {
  const d = process.cpuUsage(from);
  return d.user + d.system;
};

const freePort = () => new Promise((resolve, reject) => {
  const s = net.createServer();
  s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  s.on('error', reject);
});

function nitroNative({ txs, batch, bytes }) {
  const exe = new URL('../build/native/consensus_bench', import.meta.url).pathname;
  if (!existsSync(exe)) return undefined;
  const runs = [];
  for (let i = 0; i < 3; i++) {
    const r = spawnSync(exe, ['--txs', String(txs), '--batch', String(batch), '--bytes', String(bytes)], { encoding: 'utf8' });
    runs.push(JSON.parse(r.stdout.trim()));
  }
  runs.sort((a, b) => a.tx_per_s - b.tx_per_s);
  return runs[1];  // median run by throughput
}

async function nitroProcesses({ txs, clients, window, bytes }) {
  const script = new URL('../node-tests/support/chain-validator.mjs', import.meta.url).pathname;
  const procs = [];
  const pending = new Map();
  let nextId = 0;
  const start = (i, bootstrap = '') => {
    // NITRO_BENCH_CPU_PROF=<dir>: each validator writes a V8 CPU profile there (node --cpu-prof).
    const prof = process.env.NITRO_BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.NITRO_BENCH_CPU_PROF] : [];
    const child = spawn(process.execPath, [...prof, script, String(i), bootstrap], { stdio: ['pipe', 'pipe', 'inherit'] });
    const ready = new Promise((resolve) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        const msg = JSON.parse(line);
        if (msg.ready) resolve(msg.ready);
        else pending.get(msg.id)?.(msg);
      });
    });
    procs.push(child);
    return ready;
  };
  try {
    const { address } = await start(0);
    await Promise.all([1, 2, 3].map((i) => start(i, address)));
    // Commands for one validator made in one task go out in one write (the harness's own cost).
    const outbox = procs.map(() => '');
    const submit = (i, key) => new Promise((resolve) => {
      const id = nextId++;
      pending.set(id, (msg) => { pending.delete(id); resolve(msg); });
      if (outbox[i] === '') setImmediate(() => { procs[i].stdin.write(outbox[i]); outbox[i] = ''; });
      outbox[i] += JSON.stringify({ id, submit: { op: 'kv.put', args: { key, value: 'v'.repeat(bytes) } } }) + '\n';
    });
    await submit(0, 'warmup');
    const pids = procs.map((p) => p.pid);
    const samples = [];
    for (let round = 0; round < 3; round++) {  // the same 4 processes, 3 measured rounds: the median
      const lat = [];
      let next = 0;
      const cpu0 = cpuSeconds(pids);
      const driver0 = process.cpuUsage();
      const t0 = performance.now();
      await Promise.all(Array.from({ length: clients * window }, async (_, slot) => {
        const c = Math.floor(slot / window);  // the client this slot belongs to
        while (next < txs) {
          const i = next++;
          const s0 = performance.now();
          const r = await submit(c % 4, `k${i % 1000}`);
          if (r.committed) lat.push(performance.now() - s0);
        }
      }));
      const s = (performance.now() - t0) / 1000;
      const cpu = cpuSeconds(pids) - cpu0;
      lat.sort((a, b) => a - b);
      samples.push({ tx_per_s: lat.length / s, tx_per_cpu_s: lat.length / cpu, p50_ms: lat[Math.floor(lat.length / 2)], p99_ms: lat[Math.floor(lat.length * 0.99)],
        driver_us: driverMicros(driver0) / lat.length });
    }
    samples.sort((a, b) => a.tx_per_s - b.tx_per_s);
    return samples[1];
  } finally {
    for (const p of procs) p.stdin.end();
    // A profiled validator writes its profile on its own exit; give it a moment before SIGTERM.
    if (process.env.NITRO_BENCH_CPU_PROF) await Promise.all(procs.map((p) => new Promise((r) => { p.on('exit', r); setTimeout(r, 5000); })));
    for (const p of procs) p.kill('SIGTERM');
  }
}

async function startEtcd() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nitro-etcd-'));
  const members = [];
  for (let i = 0; i < 3; i++) members.push({ name: `e${i}`, client: await freePort(), peer: await freePort() });
  const cluster = members.map((m) => `${m.name}=http://127.0.0.1:${m.peer}`).join(',');
  const procs = members.map((m) => spawn('etcd', [
    '--name', m.name, '--data-dir', path.join(dir, m.name),
    '--listen-client-urls', `http://127.0.0.1:${m.client}`, '--advertise-client-urls', `http://127.0.0.1:${m.client}`,
    '--listen-peer-urls', `http://127.0.0.1:${m.peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${m.peer}`,
    '--initial-cluster', cluster, '--initial-cluster-state', 'new', '--initial-cluster-token', 'nitro-bench',
  ], { stdio: 'ignore' }));
  const stop = () => { for (const p of procs) p.kill('SIGKILL'); rmSync(dir, { recursive: true, force: true }); };
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 });
  const put = (port, key, value) => new Promise((resolve, reject) => {
    const body = JSON.stringify({ key: Buffer.from(key).toString('base64'), value: Buffer.from(value).toString('base64') });
    const req = http.request({ host: '127.0.0.1', port, path: '/v3/kv/put', method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`etcd put: ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
  const deadline = Date.now() + 20000;
  for (;;) {
    try { await put(members[0].client, 'warmup', 'x'); break; } catch (e) {
      if (Date.now() > deadline) { stop(); throw e; }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return { members, put, stop, agent, pids: procs.map((p) => p.pid) };
}

async function etcdPuts(etcd, { txs, clients, window, bytes }) {
  const value = 'v'.repeat(bytes);
  const lat = [];
  let next = 0;
  const cpu0 = cpuSeconds(etcd.pids);
  const driver0 = process.cpuUsage();
  const start = performance.now();
  await Promise.all(Array.from({ length: clients * window }, async (_, slot) => {
    const port = etcd.members[Math.floor(slot / window) % 3].client;
    while (next < txs) {
      const i = next++;
      const t0 = performance.now();
      await etcd.put(port, `k${i % 1000}`, value);
      lat.push(performance.now() - t0);
    }
  }));
  const s = (performance.now() - start) / 1000;
  const cpu = cpuSeconds(etcd.pids) - cpu0;
  lat.sort((a, b) => a - b);
  return { tx_per_s: txs / s, tx_per_cpu_s: txs / cpu, p50_ms: lat[Math.floor(lat.length / 2)], p99_ms: lat[Math.floor(lat.length * 0.99)],
    driver_us: driverMicros(driver0) / txs };
}

export async function run(args = []) {
  const opt = (name, d) => { const i = args.indexOf(`--${name}`); return i >= 0 ? Number(args[i + 1]) : d; };
  // --only native|processes|etcd runs one row (profiling, quick checks).
  const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
  const want = (row) => only === undefined || only === row;
  const txs = opt('txs', 10000), bytes = opt('bytes', 64), clients = opt('clients', 64), batch = opt('batch', 200);
  const window = opt('window', 16);
  console.log(`${txs} writes of ${bytes}-byte values; etcd and the 4-process chain: ${clients} clients × ${window} writes in flight each; native: ${batch} submits per virtual ms.\n`);
  console.log('| system | committed writes/s | writes per CPU-s (servers) | p50 commit ms | p99 commit ms |');
  console.log('|---|---|---|---|---|');
  const n = want('native') ? nitroNative({ txs, batch, bytes }) : undefined;
  if (n) console.log(`| nitro chain, 4 validators, 1 process (native, sim 1 ms links; latency virtual) | ${n.tx_per_s.toFixed(0)} | ${n.tx_per_cpu_s.toFixed(0)} | ${n.p50_ms} | ${n.p99_ms} |`);
  else if (want('native')) console.log('| nitro chain (native) | build/native/consensus_bench missing | | |');
  let p;
  try {
    if (want('processes')) p = await nitroProcesses({ txs: opt('process-txs', txs), clients, window, bytes });
    if (p) console.log(`| nitro chain, 4 validators, 4 Node processes (wasm, WebSocket), ${clients} clients × ${window} in flight | ${p.tx_per_s.toFixed(0)} | ${p.tx_per_cpu_s.toFixed(0)} | ${p.p50_ms.toFixed(1)} | ${p.p99_ms.toFixed(1)} |`);
  } catch (e) {
    console.log(`| nitro chain, 4 processes | failed: ${e.message} | | |`);
  }
  const driverNote = () => {
    if (p) console.log(`\nbench driver CPU per write (not in the table): 4-process chain clients ${p.driver_us.toFixed(0)} µs`);
  };
  let etcd;
  if (!want('etcd')) return driverNote();
  try {
    etcd = await startEtcd();
    const samples = [];
    for (let i = 0; i < 3; i++) samples.push(await etcdPuts(etcd, { txs, clients, window, bytes }));
    samples.sort((a, b) => a.tx_per_s - b.tx_per_s);
    const e = samples[1];
    console.log(`| etcd ${spawnSync('etcd', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0].replace('etcd Version: ', '')}, 3 members (loopback), ${clients} clients × ${window} in flight | ${e.tx_per_s.toFixed(0)} | ${e.tx_per_cpu_s.toFixed(0)} | ${e.p50_ms.toFixed(1)} | ${e.p99_ms.toFixed(1)} |`);
    if (n) console.log(`\nnitro (native, 1 process)/etcd throughput ratio: ${(n.tx_per_s / e.tx_per_s).toFixed(2)}`);
    if (p) console.log(`nitro (4 processes)/etcd throughput ratio: ${(p.tx_per_s / e.tx_per_s).toFixed(2)}`);
    driverNote();
    console.log(`bench driver CPU per write (not in the table): etcd clients ${e.driver_us.toFixed(0)} µs`);
  } catch (e) {
    console.log(`| etcd | failed: ${e.message} | | |`);
  } finally {
    etcd?.agent.destroy();
    etcd?.stop();
  }
}
