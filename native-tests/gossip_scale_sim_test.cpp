// Scale under load: nodes that take time to process what they receive (the simulator's busy-node
// model), one 10x slower node, and the composition createNode runs (gossip membership, Plumtree
// and RPC discovery with a served name per node). What turns load into more load shows here as
// GRAFTs per delivery during the join, background frames of an idle node, and false deaths.
// Seeds come from test_seeds(); failures print "reproduce with NITRO_SEED=<n>".
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "nitro/rpc_node.h"
#include "nitro/sim.h"
#include "test_util.h"

using namespace nitro;
using nitro::rpc::NodeRpc;
using nitro::rpc::NodeRpcConfig;
using nitro::sim::SimConfig;
using nitro::sim::Simulator;

namespace {

// Costs in the range a wasm node pays: a frame (decrypt, decode, maybe an Ed25519 verify) ~0.3 ms,
// a tick ~0.05 ms; one node in twenty is ten times slower.
SimConfig busy_config(std::uint64_t seed, std::size_t nodes, bool one_process) {
  SimConfig c;
  c.seed = seed;
  c.nodes = nodes;
  c.delay_min_ms = one_process ? 0 : 5;
  c.delay_max_ms = one_process ? 1 : 40;
  c.jitter_ms = one_process ? 0 : 5;
  c.start_spread_ms = one_process ? 3000 : 5000;
  c.frame_cost_us = one_process ? 40 : 300;
  c.timer_cost_us = one_process ? 10 : 50;
  c.slow_nodes = one_process ? 0 : std::max<std::size_t>(1, nodes / 20);
  c.one_process = one_process;
  return c;
}

struct Window {
  NodeStats stats;
  sim::NetStats net;
};

Window snapshot(const Simulator& sim) { return Window{sim.total_stats(), sim.net()}; }

// Every node runs RPC as createNode attaches it (a served name, gossip ads) and subscribes `topic`.
void compose(Simulator& sim, const std::string& topic) {
  for (std::size_t i = 0; i < sim.size(); ++i) {
    NodeRpcConfig rc;
    rc.name = "node-" + std::to_string(i);
    auto p = NodeRpc::create(rc);
    REQUIRE(p.ok());
    sim.with_node(i, [&](Node& n) { REQUIRE(n.add_protocol(rpc::kNodeChannel, std::move(*p)).ok()); });
    REQUIRE(sim.subscribe(i, topic).ok());
  }
}

// During the join, newcomers rightly pull ads published while their links were coming up (the
// Plumtree digest announces them); a storm pulls payloads that are only late, each pull bringing a
// duplicate and more lateness: the 40-node join that first showed it ran at ~0.8 GRAFTs per
// delivery. Measured here (seed 1, busy nodes): 0.24 per delivery, 61 per node; with a fixed
// 300 ms IHAVE wait, unpaced GRAFTs and 200 ms retries 0.29 and 75 (this model's lateness is mild:
// the one-process JS test shows the difference more).
constexpr double kJoinGraftsPerDeliveryMax = 0.4;

struct Run {
  double grafts_per_delivery = 0;
  double grafts_per_node = 0;
  double idle_frames_per_node_s = 0;
  std::uint64_t deaths = 0;
  std::uint64_t reached = 0;
  std::uint64_t reach_ms = 0;
};

// Joins every node, then idles, then publishes once and waits for every node to deliver it.
Run run(std::uint64_t seed, std::size_t nodes, bool one_process) {
  Simulator sim(busy_config(seed, nodes, one_process));
  compose(sim, "t");
  const std::uint64_t join_end = sim.config().start_spread_ms;
  sim.run_until(join_end + 10000);
  const Window joined = snapshot(sim);
  Run r;
  r.grafts_per_delivery = static_cast<double>(joined.stats.grafts_sent) / std::max<std::uint64_t>(1, joined.stats.delivered);
  r.grafts_per_node = static_cast<double>(joined.stats.grafts_sent) / static_cast<double>(nodes);
  sim.run_for(20000);  // settling
  const Window before = snapshot(sim);
  sim.run_for(30000);
  const Window after = snapshot(sim);
  r.idle_frames_per_node_s = static_cast<double>(after.net.frames_sent - before.net.frames_sent) / 30.0 / static_cast<double>(nodes);
  r.deaths = after.stats.deaths;
  sim.clear_deliveries();
  const std::uint64_t t0 = sim.now_ms();
  REQUIRE(sim.publish(seed % nodes, "t", Bytes{1, 2, 3}).ok());
  sim.run_for(5000);
  for (const auto& d : sim.deliveries()) {
    if (d.topic != "t") continue;
    r.reached++;
    r.reach_ms = std::max(r.reach_ms, d.at_ms - t0);
  }
  return r;
}

}  // namespace

TEST_CASE("scale sim: 100 busy nodes with a slow one join without GRAFT storms or false deaths", "[scale]") {
  for (auto seed : test::test_seeds("scale-busy", 3)) {
    INFO("reproduce with NITRO_SEED=" << seed);
    const Run r = run(seed, 100, false);
    INFO("grafts/node " << r.grafts_per_node << " grafts/delivery " << r.grafts_per_delivery << " idle frames/node/s " << r.idle_frames_per_node_s << " deaths "
                            << r.deaths << " reached " << r.reached << " in " << r.reach_ms << " ms");
    CHECK(r.grafts_per_delivery <= kJoinGraftsPerDeliveryMax);
    CHECK(r.deaths == 0);  // nobody crashed: a death is a false suspicion that went all the way
    CHECK(r.idle_frames_per_node_s <= 8.0);
    CHECK(r.reached == 100);
    CHECK(r.reach_ms <= 1500);
  }
}

TEST_CASE("scale sim: 100 nodes sharing one processor settle and deliver a publish to all", "[scale]") {
  for (auto seed : test::test_seeds("scale-one-process", 2)) {
    INFO("reproduce with NITRO_SEED=" << seed);
    const Run r = run(seed, 100, true);
    INFO("grafts/node " << r.grafts_per_node << " grafts/delivery " << r.grafts_per_delivery << " idle frames/node/s " << r.idle_frames_per_node_s << " deaths "
                            << r.deaths << " reached " << r.reached << " in " << r.reach_ms << " ms");
    CHECK(r.grafts_per_delivery <= kJoinGraftsPerDeliveryMax);
    CHECK(r.deaths == 0);
    CHECK(r.idle_frames_per_node_s <= 8.0);
    CHECK(r.reached == 100);
    CHECK(r.reach_ms <= 200);
  }
}
