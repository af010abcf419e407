// Idle cost per node: N processes, one node each, over WebSocket on loopback; the first listens,
// the others join through it and two earlier nodes. After `settle` seconds without traffic, each
// process's CPU (utime+stime from /proc) is sampled over `window` seconds, with its RSS. Nitro and
// js-libp2p with gossipsub (noise, yamux, identify: the stack a user would pick) side by side.
//   npm run bench -- idle [--procs 20] [--settle 30] [--window 20] [--kinds nitro,libp2p]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
    return { kind, cpuMedian: median(cpu), cpuMax: Math.max(...cpu), cpuTotal: cpu.reduce((a, b) => a + b, 0), rssMedian: median(rss) };
  } finally {
    await stop(children);
  }
}

export async function run(args = []) {
  const procs = Number(option(args, 'procs', 20));
  const settleS = Number(option(args, 'settle', 30));
  const windowS = Number(option(args, 'window', 20));
  const kinds = option(args, 'kinds', 'nitro,libp2p').split(',');
  console.log(`${procs} processes over WebSocket on loopback, idle: CPU sampled over ${windowS} s after ${settleS} s of settling.\n`);
  console.log('| stack | CPU per process (median) | max | all processes | RSS per process (median) |');
  console.log('|---|---|---|---|---|');
  for (const kind of kinds) {
    const r = await measure(kind, procs, settleS, windowS);
    const name = kind === 'libp2p' ? 'js-libp2p + gossipsub (noise, yamux)' : 'Nitro';
    console.log(`| ${name} | ${r.cpuMedian.toFixed(2)}% | ${r.cpuMax.toFixed(2)}% | ${r.cpuTotal.toFixed(1)}% | ${r.rssMedian.toFixed(0)} MB |`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run(process.argv.slice(2));
