// Background traffic of an idle node as the network grows, in the deterministic simulator
// (build/native/gossip_scale_bench): after the join and a minute of settling, per idle node per
// second: bytes and frames sent, signature verifications (first receipts of signed messages plus
// link handshakes). Without and with RPC discovery (a served name per node, as createNode runs).
//   npm run bench -- gossip-scale [--nodes 100,1000,10000] [--rpc-nodes 100,1000] [--idle 60] [--seed 1]
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { table } from './lib.mjs';

function option(args, name, fallback) {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
}

export async function run(args = []) {
  const exe = new URL('../build/native/gossip_scale_bench', import.meta.url).pathname;
  if (!existsSync(exe)) {
    console.log('build/native/gossip_scale_bench is missing: build the native tree first (cmake --build build/native)');
    return;
  }
  const common = ['--idle', option(args, 'idle', '60'), '--seed', option(args, 'seed', '1')];
  const rows = [];
  const collect = (extra) => {
    const out = execFileSync(exe, [...common, ...extra], { maxBuffer: 1 << 24 }).toString();
    for (const line of out.split('\n')) if (line.startsWith('{')) rows.push(JSON.parse(line));
  };
  collect(['--nodes', option(args, 'nodes', '100,1000,10000')]);
  collect(['--rpc', '--nodes', option(args, 'rpc-nodes', '100,1000')]);
  console.log(`Idle window ${rows[0]?.idle_s ?? '?'} s after join + 60 s; per idle node per second.`);
  console.log();
  console.log(table(
    ['nodes', 'composition', 'bytes / s', 'frames / s', 'signature verifications / s', 'handshakes / s', 'deaths', 'overlay converged', 'wall s'],
    rows.map((r) => [r.nodes, r.rpc ? 'gossip + RPC discovery' : 'gossip', r.bytes_per_node_s.toFixed(0), r.frames_per_node_s.toFixed(2),
      r.verifications_per_node_s.toFixed(3), r.handshakes_per_node_s.toFixed(4), r.deaths, r.converged, r.wall_s.toFixed(0)]),
  ));
}
