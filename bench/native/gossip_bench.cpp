// Gossip benchmark: N nodes in the deterministic simulator; Plumtree (the product) next to a
// flood-gossip baseline and a gossipsub-like D=6 mesh baseline, same links, same seed.
// Prints one JSON object per line plus a table. Usage:
//   gossip_bench [--nodes 1000] [--messages 100] [--seed 1] [--drop 0.0] [--modes plumtree,flood,mesh] [--view 5] [--flood-hops 3]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "gossip/rng.h"
#include "nitro/sim.h"

using namespace nitro;

namespace {

struct Args {
  std::size_t nodes = 1000;
  std::size_t messages = 50;
  std::uint64_t seed = 1;
  double drop = 0.0;
  std::string modes = "plumtree,flood,mesh";
  std::size_t view = 5;  // active view of plumtree and flood (the mesh baseline uses 12)
  std::uint32_t flood_hops = NodeConfig{}.plumtree_flood_hops;
};

struct Row {
  std::string mode;
  std::size_t nodes = 0, active_view = 0, messages = 0;
  double delivery = 0, hops_mean = 0, dup_per_delivery = 0, frames_per_delivery = 0;
  std::uint32_t hops_max = 0;
  double node_s_per_wall_s = 0, wall_s = 0, virtual_s = 0;
  std::uint64_t handshakes = 0, deaths = 0;
};

Row run(const Args& a, BroadcastMode mode, const char* name) {
  sim::SimConfig c;
  c.seed = a.seed;
  c.nodes = a.nodes;
  c.drop_rate = a.drop;
  c.start_spread_ms = 5000;
  c.node.mode = mode;
  c.node.active_view_max = mode == BroadcastMode::kMesh ? 12 : a.view;
  c.node.plumtree_flood_hops = a.flood_hops;
  const auto wall0 = std::chrono::steady_clock::now();
  sim::Simulator s(c);
  for (std::size_t i = 0; i < s.size(); ++i) (void)s.subscribe(i, "bench");
  s.run_until(30000);
  std::uint64_t x = a.seed;
  auto publish_some = [&](std::size_t n, std::vector<std::pair<PeerId, std::uint64_t>>* out) {
    for (std::size_t m = 0; m < n; ++m) {
      const std::size_t from = gossip::Rng::splitmix(x) % s.size();
      auto seq = s.publish(from, "bench", Bytes(256, static_cast<std::uint8_t>(m)));
      if (seq.ok() && out) out->emplace_back(s.node(from)->id(), *seq);
      s.run_for(50);
    }
  };
  publish_some(20, nullptr);  // warm-up: lets Plumtree prune its tree / the mesh form
  s.run_for(5000);
  const NodeStats before = s.total_stats();
  s.clear_deliveries();
  std::vector<std::pair<PeerId, std::uint64_t>> published;
  publish_some(a.messages, &published);
  s.run_for(10000);
  const NodeStats after = s.total_stats();
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();

  std::set<std::pair<PeerId, std::uint64_t>> ids(published.begin(), published.end());
  std::set<std::tuple<std::size_t, PeerId, std::uint64_t>> got;
  double hops_sum = 0;
  Row r;
  for (const auto& d : s.deliveries()) {
    if (ids.count({d.origin, d.seq}) == 0 || !got.insert({d.node, d.origin, d.seq}).second) continue;
    if (d.hops == 0) continue;  // the publisher's own delivery
    hops_sum += d.hops;
    r.hops_max = std::max(r.hops_max, d.hops);
  }
  const double expected = static_cast<double>(published.size() * s.size());
  const double remote = static_cast<double>(got.size() - published.size());
  r.mode = name;
  r.nodes = a.nodes;
  r.active_view = c.node.active_view_max;
  r.messages = published.size();
  r.delivery = static_cast<double>(got.size()) / expected;
  r.hops_mean = remote > 0 ? hops_sum / remote : 0;
  r.dup_per_delivery = remote > 0 ? static_cast<double>(after.duplicate_payloads - before.duplicate_payloads) / remote : 0;
  r.frames_per_delivery = remote > 0 ? static_cast<double>(after.frames_out - before.frames_out) / remote : 0;
  r.handshakes = after.handshakes_ok;
  r.deaths = after.deaths;
  r.virtual_s = static_cast<double>(s.now_ms()) / 1000.0;
  r.wall_s = wall_s;
  r.node_s_per_wall_s = static_cast<double>(a.nodes) * r.virtual_s / wall_s;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const char* v = argv[i + 1];
    if (k == "--nodes") a.nodes = std::strtoull(v, nullptr, 10);
    else if (k == "--messages") a.messages = std::strtoull(v, nullptr, 10);
    else if (k == "--seed") a.seed = std::strtoull(v, nullptr, 10);
    else if (k == "--drop") a.drop = std::strtod(v, nullptr);
    else if (k == "--modes") a.modes = v;
    else if (k == "--view") a.view = std::strtoull(v, nullptr, 10);
    else if (k == "--flood-hops") a.flood_hops = static_cast<std::uint32_t>(std::strtoul(v, nullptr, 10));
  }
  std::vector<Row> rows;
  if (a.modes.find("plumtree") != std::string::npos) rows.push_back(run(a, BroadcastMode::kPlumtree, "plumtree"));
  if (a.modes.find("flood") != std::string::npos) rows.push_back(run(a, BroadcastMode::kFlood, "flood"));
  if (a.modes.find("mesh") != std::string::npos) rows.push_back(run(a, BroadcastMode::kMesh, "gossipsub-D6"));
  for (const auto& r : rows) {
    std::printf("{\"mode\":\"%s\",\"nodes\":%zu,\"active_view\":%zu,\"messages\":%zu,\"delivery\":%.6f,"
                "\"hops_mean\":%.2f,\"hops_max\":%u,\"dup_per_delivery\":%.3f,\"frames_per_delivery\":%.2f,"
                "\"handshakes\":%llu,\"deaths\":%llu,\"virtual_s\":%.1f,\"wall_s\":%.2f,\"node_s_per_wall_s\":%.0f}\n",
                r.mode.c_str(), r.nodes, r.active_view, r.messages, r.delivery, r.hops_mean, r.hops_max,
                r.dup_per_delivery, r.frames_per_delivery, static_cast<unsigned long long>(r.handshakes),
                static_cast<unsigned long long>(r.deaths), r.virtual_s, r.wall_s, r.node_s_per_wall_s);
  }
  std::printf("\n%-14s %6s %5s %9s %9s %8s %10s %10s %14s\n", "mode", "nodes", "view", "delivery", "hops_mean",
              "hops_max", "dup/deliv", "frames/dl", "node-s/wall-s");
  for (const auto& r : rows) {
    std::printf("%-14s %6zu %5zu %9.4f %9.2f %8u %10.3f %10.2f %14.0f\n", r.mode.c_str(), r.nodes, r.active_view,
                r.delivery, r.hops_mean, r.hops_max, r.dup_per_delivery, r.frames_per_delivery, r.node_s_per_wall_s);
  }
  return 0;
}
