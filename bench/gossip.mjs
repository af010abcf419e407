// Gossip pub/sub in the deterministic simulator (build/native/gossip_bench): 1,000 nodes by
// default, Plumtree (Nitro's broadcast) next to a flood-gossip and a gossipsub-like D=6 mesh
// baseline run in the same simulator on the same seed, over the same secure links.
//   npm run bench -- gossip [--nodes 1000] [--messages 100] [--seed 1] [--drop 0]
// Metrics per mode: delivery ratio (deliveries / (messages × nodes)), mean and max overlay hops,
// duplicate payloads received per delivered message, frames sent per delivery (all traffic:
// membership, probes, IHAVE/GRAFT, payloads), and simulated node-seconds per wall second.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { table } from './lib.mjs';

export async function run(args = []) {
  const exe = new URL('../build/native/gossip_bench', import.meta.url).pathname;
  if (!existsSync(exe)) {
    console.log('build/native/gossip_bench is missing: build the native tree first (cmake --build build/native)');
    return;
  }
  const out = execFileSync(exe, args, { maxBuffer: 1 << 24 }).toString();
  const rows = out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
  const first = rows[0] ?? {};
  console.log(`${first.nodes} nodes, ${first.messages} messages of 256 B from random publishers, one seed, same simulator`);
  console.log();
  console.log(
    table(
      ['dissemination', 'active view', 'delivery', 'hops mean', 'hops max', 'dup payloads / delivery', 'frames / delivery', 'sim node-s / wall-s'],
      rows.map((r) => [r.mode, r.active_view, r.delivery.toFixed(4), r.hops_mean, r.hops_max, r.dup_per_delivery, r.frames_per_delivery, r.node_s_per_wall_s]),
    ),
  );
}
