// Gossip pub/sub in the deterministic simulator (build/native/gossip_bench): 1,000 nodes by
// default, Plumtree (Nitro's broadcast) next to a flood-gossip and a gossipsub-like D=6 mesh
// baseline run in the same simulator on the same seed, over the same secure links.
//   npm run bench -- gossip [--nodes 1000] [--messages 50] [--publishers 10] [--warmup 100] [--seed 1] [--drop 0]
// Metrics per mode: delivery ratio (deliveries / (messages × nodes)), mean and max overlay hops,
// duplicate payloads received per delivered message, frames sent per delivery (all traffic:
// membership, probes, IHAVE/GRAFT, payloads), delivery latency (virtual ms, p50/p99), the worst
// first delivery to a node that subscribes, or restarts, while a publisher is mid-stream, and simulated
// node-seconds per wall second. Then Plumtree against the targets (hops mean ≤ 1.15× the mesh's
// in the same run, duplicates ≤ 0.6 per delivery, first contact ≤ 200 ms).
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
  const lines = out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
  const rows = lines.filter((l) => l.mode);
  const targets = lines.find((l) => l.targets);
  const setup = lines.find((l) => l.setup) ?? {};
  const from = setup.publishers ? `${setup.publishers} busy publishers after ${setup.warmup_messages} warm-up messages` : 'random publishers';
  console.log(`${setup.nodes} nodes, ${setup.measured_messages} messages of 256 B from ${from}, seed ${setup.seed}, same simulator`);
  console.log();
  console.log(
    table(
      ['dissemination', 'active view', 'delivery', 'hops mean', 'hops max', 'dup payloads / delivery', 'frames / delivery',
        'latency p50 ms', 'latency p99 ms', 'first contact: subscribe ms', 'first contact: restart ms', 'sim node-s / wall-s'],
      rows.map((r) => [r.mode, r.active_view, r.delivery.toFixed(4), r.hops_mean, r.hops_max, r.dup_per_delivery, r.frames_per_delivery,
        r.latency_p50_ms, r.latency_p99_ms, r.first_contact_max_ms, r.first_contact_rejoin_ms, r.node_s_per_wall_s]),
    ),
  );
  if (targets) {
    const mark = (ok) => (ok ? 'met' : 'MISSED');
    console.log();
    console.log(
      table(
        ['Plumtree target', 'measured', 'target', ''],
        [
          ['hops mean vs the mesh (same run)', `${targets.hops_vs_mesh.toFixed(3)}×`, `≤ ${targets.hops_vs_mesh_max}×`, mark(targets.hops_met)],
          ['duplicate payloads / delivery', targets.dup_per_delivery.toFixed(3), `≤ ${targets.dup_max}`, mark(targets.dup_met)],
          ['first contact (worst of subscribe / restart mid-stream)', `${targets.first_contact_max_ms} ms`, `≤ ${targets.first_contact_target_ms} ms`, mark(targets.first_contact_met)],
        ],
      ),
    );
  }
}
