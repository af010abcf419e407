// Gossip benchmark: N nodes in the deterministic simulator; Plumtree (the product) next to a
// flood-gossip baseline and a gossipsub-like D=6 mesh baseline, same links, same seed.
// Per mode: hops (mean/max), duplicate payloads per delivery, delivery latency (virtual ms from
// publish), and the latency of the first message a node gets that subscribes, or restarts,
// while a publisher is mid-stream (first_contact). Then Plumtree against the targets:
// hops mean <= kHopsVsMesh x the mesh's in the same run, duplicates <= kDupMax, first contact <=
// kFirstContactMaxMs. Messages come from --publishers busy publishers (0: each from a random node)
// and are measured after --warmup messages from the same publishers, so that Plumtree's
// per-publisher trees have formed and settled. Prints one JSON object per line plus a table. Usage:
//   gossip_bench [--nodes 1000] [--messages 50] [--publishers 10] [--warmup 100] [--seed 1] [--drop 0.0]
//                [--modes plumtree,flood,mesh] [--view 5] [--flood-hops 3]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "gossip/rng.h"
#include "nitro/sim.h"

using namespace nitro;

namespace {

constexpr double kHopsVsMesh = 1.15, kDupMax = 0.6, kFirstContactMaxMs = 200;

struct Args {
  std::size_t nodes = 1000;
  std::size_t messages = 50;
  std::size_t publishers = 10;
  std::size_t warmup = 100;
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
  double latency_p50 = 0, latency_p99 = 0, latency_max = 0;  // virtual ms, publish to delivery
  double first_contact_max = 0;  // virtual ms, worst first delivery to a mid-stream subscriber
  double first_contact_rejoin = 0;  // the same for a node that restarts mid-stream
  double node_s_per_wall_s = 0, wall_s = 0, virtual_s = 0;
  std::uint64_t handshakes = 0, deaths = 0;
};

// One publisher streams on a fresh topic every 50 ms. Two kinds of nodes meet it mid-stream,
// a tenth of the nodes each: `late` ones subscribe after its 10th message (already in the
// overlay, they track its sequence and are never held by ordering); `rejoin` ones crash before
// the stream and restart after the 10th message, so they first hear the publisher at seq > 1
// with no state, which per-publisher ordering holds. Per node: the time from when the first
// message it gets could first reach it (its publish, or the node's first link after the restart,
// whichever is later) to its delivery there; returns the worst of each kind (-1: a node got none).
struct FirstContact {
  double subscribe_ms = 0, rejoin_ms = 0;
};

FirstContact first_contact(sim::Simulator& s, std::uint64_t& x) {
  const std::string topic = "first-contact";
  const std::size_t from = gossip::Rng::splitmix(x) % s.size();
  std::vector<std::size_t> late, rejoin;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i == from) continue;
    if (i % 10 == 3) late.push_back(i);
    else if (i % 10 == 7) rejoin.push_back(i);
  }
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i % 10 != 3) (void)s.subscribe(i, topic);
  }
  s.run_for(3000);
  for (std::size_t i : rejoin) s.crash(i);
  s.run_for(3000);
  s.clear_deliveries();
  std::map<std::uint64_t, std::uint64_t> sent_at;
  std::map<std::size_t, std::uint64_t> linked_at;  // rejoined node -> its first link after restart
  for (int m = 0; m < 40; ++m) {
    if (m == 10) {
      for (std::size_t i : late) (void)s.subscribe(i, topic);
      for (std::size_t i : rejoin) {
        s.restart(i);
        (void)s.subscribe(i, topic);
      }
    }
    auto seq = s.publish(from, topic, Bytes(256, static_cast<std::uint8_t>(m)));
    if (seq.ok()) sent_at[*seq] = s.now_ms();
    for (int step = 0; step < 5; ++step) {
      s.run_for(10);
      if (m < 10) continue;
      for (std::size_t i : rejoin) {
        if (!linked_at.count(i) && s.node(i) && !s.node(i)->neighbors().empty()) linked_at[i] = s.now_ms();
      }
    }
  }
  s.run_for(5000);
  auto worst = [&](const std::vector<std::size_t>& nodes) {
    const std::set<std::size_t> in(nodes.begin(), nodes.end());
    std::map<std::size_t, double> first;
    for (const auto& d : s.deliveries()) {
      if (d.topic != topic || !in.count(d.node) || first.count(d.node) || !sent_at.count(d.seq)) continue;
      std::uint64_t since = sent_at[d.seq];
      if (linked_at.count(d.node)) since = std::max(since, linked_at[d.node]);
      first[d.node] = static_cast<double>(d.at_ms - std::min(since, d.at_ms));
    }
    double w = 0;
    for (const auto& [node, ms] : first) w = std::max(w, ms);
    return first.size() == nodes.size() ? w : -1.0;
  };
  return {worst(late), worst(rejoin)};
}

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
  std::vector<std::size_t> publishers;
  for (std::size_t k = 0; k < a.publishers; ++k) publishers.push_back(gossip::Rng::splitmix(x) % s.size());
  auto pick = [&] {
    const std::size_t r = gossip::Rng::splitmix(x);
    return publishers.empty() ? r % s.size() : publishers[r % publishers.size()];
  };
  std::map<std::pair<PeerId, std::uint64_t>, std::uint64_t> sent_at;
  auto publish_some = [&](std::size_t n, std::vector<std::pair<PeerId, std::uint64_t>>* out) {
    for (std::size_t m = 0; m < n; ++m) {
      const std::size_t from = pick();
      auto seq = s.publish(from, "bench", Bytes(256, static_cast<std::uint8_t>(m)));
      if (seq.ok() && out) out->emplace_back(s.node(from)->id(), *seq);
      if (seq.ok()) sent_at[{s.node(from)->id(), *seq}] = s.now_ms();
      s.run_for(50);
    }
  };
  publish_some(a.warmup, nullptr);  // warm-up: lets Plumtree prune and shorten its trees / the mesh form
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
  std::vector<double> latency;
  double hops_sum = 0;
  Row r;
  for (const auto& d : s.deliveries()) {
    if (ids.count({d.origin, d.seq}) == 0 || !got.insert({d.node, d.origin, d.seq}).second) continue;
    if (d.hops == 0) continue;  // the publisher's own delivery
    hops_sum += d.hops;
    r.hops_max = std::max(r.hops_max, d.hops);
    latency.push_back(static_cast<double>(d.at_ms - sent_at[{d.origin, d.seq}]));
  }
  std::sort(latency.begin(), latency.end());
  if (!latency.empty()) {
    r.latency_p50 = latency[latency.size() / 2];
    r.latency_p99 = latency[latency.size() * 99 / 100];
    r.latency_max = latency.back();
  }
  const FirstContact fc = first_contact(s, x);
  r.first_contact_max = fc.subscribe_ms;
  r.first_contact_rejoin = fc.rejoin_ms;
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

// Plumtree against the targets, the mesh's hops from the same run.
void print_targets(const std::vector<Row>& rows) {
  const Row *plum = nullptr, *mesh = nullptr;
  for (const auto& r : rows) {
    if (r.mode == "plumtree") plum = &r;
    if (r.mode == "gossipsub-D6") mesh = &r;
  }
  if (!plum) return;
  const bool dup_ok = plum->dup_per_delivery <= kDupMax;
  const double first = plum->first_contact_max < 0 || plum->first_contact_rejoin < 0
                           ? -1
                           : std::max(plum->first_contact_max, plum->first_contact_rejoin);
  const bool first_ok = first >= 0 && first <= kFirstContactMaxMs;
  double ratio = -1;
  if (mesh && mesh->hops_mean > 0) ratio = plum->hops_mean / mesh->hops_mean;
  const bool hops_ok = ratio >= 0 && ratio <= kHopsVsMesh;
  std::printf("{\"targets\":\"plumtree\",\"hops_vs_mesh\":%.3f,\"hops_vs_mesh_max\":%.2f,\"hops_met\":%s,"
              "\"dup_per_delivery\":%.3f,\"dup_max\":%.2f,\"dup_met\":%s,\"first_contact_max_ms\":%.0f,"
              "\"first_contact_target_ms\":%.0f,\"first_contact_met\":%s}\n",
              ratio, kHopsVsMesh, hops_ok ? "true" : "false", plum->dup_per_delivery, kDupMax, dup_ok ? "true" : "false",
              first, kFirstContactMaxMs, first_ok ? "true" : "false");
  std::printf("\nplumtree targets: hops mean %.2f = %.3fx the mesh's (target <= %.2fx) %s; duplicates %.3f per delivery"
              " (target <= %.2f) %s; first contact %.0f ms (target <= %.0f ms) %s\n",
              plum->hops_mean, ratio, kHopsVsMesh, ratio < 0 ? "(no mesh row)" : hops_ok ? "MET" : "MISSED",
              plum->dup_per_delivery, kDupMax, dup_ok ? "MET" : "MISSED", first, kFirstContactMaxMs,
              first_ok ? "MET" : "MISSED");
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const char* v = argv[i + 1];
    if (k == "--nodes") a.nodes = std::strtoull(v, nullptr, 10);
    else if (k == "--messages") a.messages = std::strtoull(v, nullptr, 10);
    else if (k == "--publishers") a.publishers = std::strtoull(v, nullptr, 10);
    else if (k == "--warmup") a.warmup = std::strtoull(v, nullptr, 10);
    else if (k == "--seed") a.seed = std::strtoull(v, nullptr, 10);
    else if (k == "--drop") a.drop = std::strtod(v, nullptr);
    else if (k == "--modes") a.modes = v;
    else if (k == "--view") a.view = std::strtoull(v, nullptr, 10);
    else if (k == "--flood-hops") a.flood_hops = static_cast<std::uint32_t>(std::strtoul(v, nullptr, 10));
  }
  std::printf("{\"setup\":\"gossip\",\"nodes\":%zu,\"publishers\":%zu,\"warmup_messages\":%zu,\"measured_messages\":%zu,"
              "\"seed\":%llu}\n",
              a.nodes, a.publishers, a.warmup, a.messages, static_cast<unsigned long long>(a.seed));
  std::vector<Row> rows;
  if (a.modes.find("plumtree") != std::string::npos) rows.push_back(run(a, BroadcastMode::kPlumtree, "plumtree"));
  if (a.modes.find("flood") != std::string::npos) rows.push_back(run(a, BroadcastMode::kFlood, "flood"));
  if (a.modes.find("mesh") != std::string::npos) rows.push_back(run(a, BroadcastMode::kMesh, "gossipsub-D6"));
  for (const auto& r : rows) {
    std::printf("{\"mode\":\"%s\",\"nodes\":%zu,\"active_view\":%zu,\"messages\":%zu,\"delivery\":%.6f,"
                "\"hops_mean\":%.2f,\"hops_max\":%u,\"dup_per_delivery\":%.3f,\"frames_per_delivery\":%.2f,"
                "\"latency_p50_ms\":%.0f,\"latency_p99_ms\":%.0f,\"latency_max_ms\":%.0f,\"first_contact_max_ms\":%.0f,"
                "\"first_contact_rejoin_ms\":%.0f,\"handshakes\":%llu,\"deaths\":%llu,\"virtual_s\":%.1f,\"wall_s\":%.2f,\"node_s_per_wall_s\":%.0f}\n",
                r.mode.c_str(), r.nodes, r.active_view, r.messages, r.delivery, r.hops_mean, r.hops_max,
                r.dup_per_delivery, r.frames_per_delivery, r.latency_p50, r.latency_p99, r.latency_max,
                r.first_contact_max, r.first_contact_rejoin, static_cast<unsigned long long>(r.handshakes),
                static_cast<unsigned long long>(r.deaths), r.virtual_s, r.wall_s, r.node_s_per_wall_s);
  }
  std::printf("\n%-14s %6s %5s %9s %9s %8s %10s %10s %8s %8s %10s %10s %14s\n", "mode", "nodes", "view", "delivery",
              "hops_mean", "hops_max", "dup/deliv", "frames/dl", "p50_ms", "p99_ms", "first_ms", "rejoin_ms", "node-s/wall-s");
  for (const auto& r : rows) {
    std::printf("%-14s %6zu %5zu %9.4f %9.2f %8u %10.3f %10.2f %8.0f %8.0f %10.0f %10.0f %14.0f\n", r.mode.c_str(),
                r.nodes, r.active_view, r.delivery, r.hops_mean, r.hops_max, r.dup_per_delivery, r.frames_per_delivery,
                r.latency_p50, r.latency_p99, r.first_contact_max, r.first_contact_rejoin, r.node_s_per_wall_s);
  }
  print_targets(rows);
  return 0;
}
