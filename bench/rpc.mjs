// RPC throughput and latency: two Node processes over WebSocket on loopback, 64 concurrent unary
// calls of ~100-byte messages, side by side in one run with (a) a raw `ws` echo of the same bytes
// (the transport's limit), (b) JSON-RPC 2.0 over `ws` and (c) @grpc/grpc-js unary calls over
// HTTP/2 on loopback (the same message, JSON-serialized; no TLS). Two Nitro rows:
//   * "ws link": the core RPC engine (wasm) through js/src/rpc/ over SocketLink (a step's frames
//     for one peer coalesced by the core into one WebSocket message; no secure link);
//   * "node": two createNode() nodes on the websocket transport — Noise-XX secure link, gossip
//     membership, discovery by advertisement — what an application gets.
//
//   npm run bench -- rpc [--calls N] [--concurrency C] [--rounds R] [--only jsonrpc,grpc,nitro,node]
//                       [--frames-per-step 8,32,100000]
//   npm run bench -- rpc --in-process [--base-dist DIR]
//     only the CPU per call of a client and a server Rpc in ONE process over MemoryNetwork (the
//     engine and the JS layer, no sockets, no secure link, no waiting on the other process): steady
//     on a loaded machine. --base-dist adds the same row for another build's js/dist (e.g. main's),
//     alternating with this one, for before/after.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { WebSocket, WebSocketServer } from 'ws';
import { table, median } from './lib.mjs';

const MESSAGE = { id: 0, user: 'ada@example.org', text: 'the quick brown fox jumps over the lazy dog 0123456789', ok: true };

// --------------------------------------------------------------------------- server process

async function serve(mode) {
  if (mode.startsWith('node')) return serveNode(framesPerStep(mode));
  if (mode === 'grpc') return serveGrpc();
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  if (mode.startsWith('nitro')) await serveNitro(wss, framesPerStep(mode));
  else if (mode === 'jsonrpc') serveJsonRpc(wss);
  else serveRaw(wss);
  process.stdout.write(`port ${wss.address().port}\n`);
}

function serveRaw(wss) {
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
}

function serveJsonRpc(wss) {
  const methods = { 'Echo.Echo': (params) => params };
  wss.on('connection', (ws) => ws.on('message', (data) => {
    const req = JSON.parse(data.toString());
    const fn = methods[req.method];
    const rsp = fn ? { jsonrpc: '2.0', id: req.id, result: fn(req.params) }
      : { jsonrpc: '2.0', id: req.id, error: { code: -32601, message: 'Method not found' } };
    ws.send(JSON.stringify(rsp));
  }));
}

// gRPC unary over HTTP/2 (cleartext, loopback) with a generic service definition: the message is
// JSON-serialized, so no .proto compiler is involved.
const GRPC_ECHO = {
  Echo: {
    path: '/bench.Echo/Echo', requestStream: false, responseStream: false,
    requestSerialize: (v) => Buffer.from(JSON.stringify(v)), requestDeserialize: (b) => JSON.parse(b.toString()),
    responseSerialize: (v) => Buffer.from(JSON.stringify(v)), responseDeserialize: (b) => JSON.parse(b.toString()),
  },
};

async function serveGrpc() {
  const grpc = await import('@grpc/grpc-js');
  const server = new grpc.Server();
  server.addService(GRPC_ECHO, { Echo: (call, done) => done(null, call.request) });
  const port = await new Promise((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(),
    (err, p) => (err ? reject(err) : resolve(p))));
  process.stdout.write(`port ${port}\n`);
}

// 'nitro' / 'node', or 'nitro:K' / 'node:K' for at most K inbound link messages and K queued records
// (call starts, responses) per engine step on both sides (--frames-per-step): bursts leave in parts.
function framesPerStep(mode) {
  return mode.includes(':') ? Number(mode.split(':')[1]) : undefined;
}

async function serveNitro(wss, steps) {
  const { init } = await import('../js/dist/node.js');
  const { Rpc, SocketLink } = await import('../js/dist/rpc.js');
  await init();
  const link = new SocketLink('server');
  const rpc = new Rpc(link, { name: 'echo', framesPerStep: steps, recordsPerStep: steps });
  rpc.handle('Echo.Echo', async (req) => req);
  wss.on('connection', (ws) => void link.add(ws));
}

// A full Nitro node (createNode, websocket transport: Noise-XX secure link, gossip membership,
// discovery by advertisement) serving Echo.Echo; prints its address as the port line.
async function serveNode(steps) {
  const { createNode, websocket } = await import('../js/dist/node.js');
  const node = await createNode({ name: 'echo', transport: websocket({ listen: 0 }), rpc: { framesPerStep: steps, recordsPerStep: steps } });
  node.handle('Echo.Echo', async (req) => req);
  process.stdout.write(`port ${node.address}\n`);
}

// --------------------------------------------------------------------------- client side

function startServer(mode) {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve', mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout.once('data', (d) => {
      const m = /port (\S+)/.exec(d.toString());
      m ? resolve({ child, port: /^\d+$/.test(m[1]) ? Number(m[1]) : m[1] }) : reject(new Error('server did not start: ' + d));
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
}

async function connect(port) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}`);
  await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
  return ws;
}

// CPU seconds (user + system) a process has used, from /proc (Linux); NaN elsewhere.
function cpuSecondsOf(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;  // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return NaN;
  }
}

// Runs `calls` calls with `concurrency` in flight; `call(i)` returns a promise. Latencies in ms;
// `cpuUs`: CPU microseconds per call, client and server process together.
async function drive(call, calls, concurrency, serverPid) {
  const latencies = new Float64Array(calls);
  let next = 0;
  const cpu0 = cpuSecondsOf(process.pid) + cpuSecondsOf(serverPid);
  const start = performance.now();
  async function worker() {
    while (next < calls) {
      const i = next++;
      const t0 = performance.now();
      await call(i);
      latencies[i] = performance.now() - t0;
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - start) / 1000;
  const cpuUs = ((cpuSecondsOf(process.pid) + cpuSecondsOf(serverPid) - cpu0) * 1e6) / calls;
  const sorted = Array.from(latencies).sort((a, b) => a - b);
  return { rate: calls / seconds, p50: sorted[Math.floor(calls * 0.5)], p99: sorted[Math.floor(calls * 0.99)], cpuUs };
}

async function rawClient(port) {
  const ws = await connect(port);
  const pending = new Map();
  ws.on('message', (data) => {
    const id = data.readUInt32LE(0);
    pending.get(id)?.();
    pending.delete(id);
  });
  const { codec } = await import('../js/dist/node.js');
  const body = Buffer.from(codec.encode(MESSAGE));  // the same bytes an RPC request carries
  return {
    call: (i) => new Promise((resolve) => {
      const frame = Buffer.allocUnsafe(body.length + 4);
      frame.writeUInt32LE(i, 0);
      body.copy(frame, 4);
      pending.set(i, resolve);
      ws.send(frame);
    }),
    close: () => ws.close(),
    bytes: body.length + 4,
  };
}

async function jsonRpcClient(port) {
  const ws = await connect(port);
  const pending = new Map();
  ws.on('message', (data) => {
    const rsp = JSON.parse(data.toString());
    pending.get(rsp.id)?.(rsp.result);
    pending.delete(rsp.id);
  });
  const sample = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'Echo.Echo', params: MESSAGE });
  return {
    call: (i) => new Promise((resolve) => {
      pending.set(i, resolve);
      ws.send(JSON.stringify({ jsonrpc: '2.0', id: i, method: 'Echo.Echo', params: { ...MESSAGE, id: i } }));
    }),
    close: () => ws.close(),
    bytes: sample.length,
  };
}

async function grpcClient(port) {
  const grpc = await import('@grpc/grpc-js');
  const Client = grpc.makeGenericClientConstructor(GRPC_ECHO, 'Echo');
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return {
    call: (i) => new Promise((resolve, reject) => client.Echo({ ...MESSAGE, id: i }, (err, rsp) => (err ? reject(err) : resolve(rsp)))),
    close: () => client.close(),
    bytes: JSON.stringify(MESSAGE).length,
  };
}

async function nitroClient(port, mode) {
  const { Rpc, SocketLink } = await import('../js/dist/rpc.js');
  const ws = new WebSocket(`ws://127.0.0.1:${port}`);
  const link = new SocketLink('client');
  const hello = link.add(ws);  // before 'open': the server's hello may come with it
  const rpc = new Rpc(link, { framesPerStep: framesPerStep(mode), recordsPerStep: framesPerStep(mode) });
  rpc.registry.add('echo', await hello);
  return {
    call: (i) => rpc.call('echo', 'Echo.Echo', { ...MESSAGE, id: i }, { timeoutMs: 10000 }),
    close: () => { rpc.close(); ws.close(); },
    bytes: null,
  };
}

// The client is a node too: it dials the server's address and calls through discovery.
async function nodeClient(address, mode) {
  const { createNode, websocket } = await import('../js/dist/node.js');
  const node = await createNode({ name: 'bench-client', transport: websocket({ url: [address] }), rpc: { framesPerStep: framesPerStep(mode), recordsPerStep: framesPerStep(mode) } });
  await node.call('echo', 'Echo.Echo', MESSAGE, { timeoutMs: 10000 });  // link up, service discovered
  return {
    call: (i) => node.call('echo', 'Echo.Echo', { ...MESSAGE, id: i }, { timeoutMs: 10000 }),
    close: () => node.close(),
    bytes: null,
  };
}

// A client and a server Rpc over MemoryNetwork in this process, built from `dist`.
async function inProcessClient(dist) {
  const { init } = await import(`${dist}/node.js`);
  await init();
  const { Rpc, MemoryNetwork } = await import(`${dist}/rpc.js`);
  const net = new MemoryNetwork();
  const [server, client] = ['s'.repeat(52), 'c'.repeat(52)];  // as long as a node's peer id text
  new Rpc(net.link(server), { name: 'echo' }).handle('Echo.Echo', async (req) => req);
  const rpc = new Rpc(net.link(client));
  rpc.registry.add('echo', server);
  return (i) => rpc.call('echo', 'Echo.Echo', { ...MESSAGE, id: i }, { timeoutMs: 10000 });
}

async function runInProcess(args, calls, concurrency, rounds) {
  const dists = [['this build', '../js/dist']];
  if (args.includes('--base-dist')) dists.push(['--base-dist', args[args.indexOf('--base-dist') + 1]]);
  const rows = [];
  for (const [label, dist] of dists) {
    const call = await inProcessClient(dist);
    await drive(call, Math.min(2000, calls), concurrency, process.pid);  // warm-up
    rows.push({ label: `${label} (${dist})`, call, cpuUs: [] });
  }
  for (let r = 0; r < rounds; r++) {
    for (const row of rows) {
      const before = process.cpuUsage();
      await drive(row.call, calls, concurrency, process.pid);
      const used = process.cpuUsage(before);
      row.cpuUs.push((used.user + used.system) / calls);
    }
  }
  console.log(table(['two Rpc in one process (MemoryNetwork)', 'CPU µs/call (client + server)'],
    rows.map((row) => [row.label, median(row.cpuUs).toFixed(2)])));
  console.log(`
${concurrency} calls in flight, ${calls} calls per round, median of ${rounds} alternating rounds.`);
}

export async function run(args = []) {
  const opt = (name, def) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : def;
  };
  const calls = opt('--calls', 20000);
  const concurrency = opt('--concurrency', 64);
  const rounds = opt('--rounds', 5);
  if (args.includes('--in-process')) return runInProcess(args, calls, concurrency, rounds);
  const { init } = await import('../js/dist/node.js');
  await init();
  const impls = [['raw ws echo', 'raw', rawClient], ['JSON-RPC 2.0 over ws', 'jsonrpc', jsonRpcClient]];
  impls.push(['@grpc/grpc-js unary (HTTP/2)', 'grpc', grpcClient]);
  impls.push(['Nitro RPC (wasm engine, ws link)', 'nitro', nitroClient]);
  impls.push(['Nitro node (createNode, websocket transport)', 'node', nodeClient]);
  // --frames-per-step 8,32: extra Nitro rows with bursts split in steps of that many records.
  const steps = args.includes('--frames-per-step') ? String(args[args.indexOf('--frames-per-step') + 1]).split(',') : [];
  for (const k of steps) {
    impls.push([`Nitro RPC (ws link, ${k} frames/step)`, `nitro:${k}`, nitroClient]);
    impls.push([`Nitro node (websocket, ${k} frames/step)`, `node:${k}`, nodeClient]);
  }
  // --only raw,node: a subset of the rows (raw ws echo stays: the ratios are against it).
  const only = args.includes('--only') ? ['raw', ...String(args[args.indexOf('--only') + 1]).split(',')] : undefined;
  if (only) impls.splice(0, impls.length, ...impls.filter(([, mode]) => only.includes(mode.split(':')[0])));
  // All servers stay up and the rounds interleave (raw, JSON-RPC, Nitro, raw, ...), so a
  // load change on a shared machine hits every implementation alike.
  const running = [];
  for (const [label, mode, makeClient] of impls) {
    const { child, port } = await startServer(mode);
    const client = await makeClient(port, mode);
    await drive(client.call, Math.min(2000, calls), concurrency, child.pid);  // warm-up (JIT, wasm tiers)
    running.push({ label, child, client, samples: [] });
  }
  for (let r = 0; r < rounds; r++) {
    for (const impl of running) impl.samples.push(await drive(impl.client.call, calls, concurrency, impl.child.pid));
    console.error(`rpc: round ${r + 1}/${rounds} done`);
  }
  const results = {};
  for (const { label, child, client, samples } of running) {
    client.close();
    child.kill();
    results[label] = {
      rate: median(samples.map((s) => s.rate)), p50: median(samples.map((s) => s.p50)), p99: median(samples.map((s) => s.p99)),
      cpuUs: median(samples.map((s) => s.cpuUs)),
    };
  }
  const base = results['raw ws echo'].rate;
  console.log(table(['implementation', 'calls/s', 'vs raw ws', 'p50 ms', 'p99 ms', 'CPU µs/call'],
    Object.entries(results).map(([k, v]) => [k, v.rate, `${((100 * v.rate) / base).toFixed(0)}%`, v.p50.toFixed(2), v.p99.toFixed(2), v.cpuUs.toFixed(1)])));
  console.log(`CPU µs/call: client and server process together (user + system, from /proc).`);
  console.log(`\n${concurrency} calls in flight, ${calls} calls per round, median of ${rounds} interleaved rounds; each server in its own Node process, loopback.`);
}

if (process.argv[2] === '--serve') {
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));  // exit hooks (profilers) run
  await serve(process.argv[3]);
}
