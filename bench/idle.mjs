// Idle cost per node: N processes, one node each, over WebSocket on loopback; the first listens,
// the others join through it and two earlier nodes. After `settle` seconds without traffic, each
// process's CPU (utime+stime from /proc) is sampled over `window` seconds, with its RSS. Nitro and
// js-libp2p with gossipsub (noise, yamux, identify: the stack a user would pick) side by side.
// A second table splits each process's RSS by kind of mapping (/proc/<pid>/smaps), to show which
// part of a process a change can move.
//   npm run bench -- idle [--procs 20] [--settle 30] [--window 20] [--kinds nitro,libp2p,bare]
import { spawn } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { median } from './lib.mjs';

const worker = new URL('./idle/worker.mjs', import.meta.url).pathname;
const kTicksPerSecond = 100;  // USER_HZ on Linux

function option(args, name, fallback) {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
}

function cpuTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);  // utime, stime
}

function rssMb(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

const kMallocHeapKb = 64 * 1024;  // glibc's per-thread arena heap (HEAP_MAX_SIZE on 64-bit)
const kReservationKb = 1024 * 1024;  // V8 reserves more than this around a wasm memory (guard)
const mappingKinds = ['node binary', 'libraries', 'V8 heap, stacks', 'malloc main', 'malloc threads', 'JIT code', 'wasm memory'];

function mappings(pid) {
  const all = [];
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      all.push({ kb: (parseInt(head[2], 16) - parseInt(head[1], 16)) / 1024, perms: head[3], name: head[4], rssKb: 0 });
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) all[all.length - 1].rssKb = Number(rss[1]);
  }
  return all;
}

// What a mapping holds, from its name, permissions and neighbour: anonymous memory is told apart
// by shape — V8 maps its JIT code executable, puts a wasm memory in front of a huge inaccessible
// guard reservation, and glibc gives each thread's arena a 64 MB heap, accessible at the front.
function kindOf(m, next, executable) {
  if (m.name === executable) return 'node binary';
  if (m.name.startsWith('/')) return 'libraries';
  if (m.name === '[heap]') return 'malloc main';
  if (m.name) return 'V8 heap, stacks';
  if (m.perms.includes('x')) return 'JIT code';
  const guard = next?.name === '' && next.perms === '---p';
  if (guard && next.kb >= kReservationKb) return 'wasm memory';
  if (m.kb === kMallocHeapKb || (guard && m.kb + next.kb === kMallocHeapKb)) return 'malloc threads';
  return 'V8 heap, stacks';
}

function rssByKindMb(pid, executable) {
  const all = mappings(pid);
  const mb = Object.fromEntries(mappingKinds.map((k) => [k, 0]));
  all.forEach((m, i) => { mb[kindOf(m, all[i + 1], executable)] += m.rssKb / 1024; });
  return mb;
}

function start(kind, contacts) {
  const child = spawn(process.execPath, [worker, kind, ...contacts], { stdio: ['pipe', 'pipe', 'inherit'] });
  const ready = new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      if (line.startsWith('READY ')) resolve(line.slice(6));
    });
    child.on('exit', (code) => reject(new Error(`${kind} worker exited with ${code} before READY`)));
  });
  return { child, ready };
}

async function stop(children) {
  await Promise.all(children.map((c) => new Promise((resolve) => {
    if (c.exitCode !== null) return resolve();
    const kill = setTimeout(() => c.kill('SIGKILL'), 5000);
    c.on('exit', () => { clearTimeout(kill); resolve(); });
    c.stdin.end();
  })));
}

async function measure(kind, procs, settleS, windowS) {
  const children = [];
  const addresses = [];
  try {
    for (let i = 0; i < procs; i++) {
      const contacts = i === 0 ? [] : [addresses[0], addresses[(i * 7) % i], addresses[(i * 13) % i]];
      const p = start(kind, [...new Set(contacts)]);
      children.push(p.child);
      addresses.push(await p.ready);
    }
    await new Promise((r) => setTimeout(r, settleS * 1000));
    const before = children.map((c) => cpuTicks(c.pid));
    await new Promise((r) => setTimeout(r, windowS * 1000));
    const cpu = children.map((c, i) => (cpuTicks(c.pid) - before[i]) / kTicksPerSecond / windowS * 100);
    const rss = children.map((c) => rssMb(c.pid));
    const executable = realpathSync(process.execPath);
    const byKind = children.map((c) => rssByKindMb(c.pid, executable));
    const rssByKind = Object.fromEntries(mappingKinds.map((k) => [k, median(byKind.map((b) => b[k]))]));
    return { kind, cpuMedian: median(cpu), cpuMax: Math.max(...cpu), cpuTotal: cpu.reduce((a, b) => a + b, 0), rssMedian: median(rss), rssByKind };
  } finally {
    await stop(children);
  }
}

export async function run(args = []) {
  const procs = Number(option(args, 'procs', 20));
  const settleS = Number(option(args, 'settle', 30));
  const windowS = Number(option(args, 'window', 20));
  const stacks = option(args, 'kinds', 'nitro,libp2p,bare').split(',');
  console.log(`${procs} processes over WebSocket on loopback, idle: CPU sampled over ${windowS} s after ${settleS} s of settling.\n`);
  console.log('| stack | CPU per process (median) | max | all processes | RSS per process (median) |');
  console.log('|---|---|---|---|---|');
  const results = [];
  for (const kind of stacks) {
    const r = await measure(kind, procs, settleS, windowS);
    results.push(r);
    console.log(`| ${stackName(kind)} | ${r.cpuMedian.toFixed(2)}% | ${r.cpuMax.toFixed(2)}% | ${r.cpuTotal.toFixed(1)}% | ${r.rssMedian.toFixed(0)} MB |`);
  }
  console.log('\nRSS per process by kind of mapping, MB (median of each column, so they need not add up):\n');
  console.log(`| stack | ${mappingKinds.join(' | ')} |`);
  console.log(`|---|${mappingKinds.map(() => '---:').join('|')}|`);
  for (const r of results) console.log(`| ${stackName(r.kind)} | ${mappingKinds.map((k) => r.rssByKind[k].toFixed(1)).join(' | ')} |`);
}

function stackName(kind) {
  return { nitro: 'Nitro', libp2p: 'js-libp2p + gossipsub (noise, yamux)', bare: 'bare Node (the floor)' }[kind];
}

if (import.meta.url === `file://${process.argv[1]}`) await run(process.argv.slice(2));
