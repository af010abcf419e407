// Simulation tests for the node, membership and pub/sub. Every assertion names its seed; rerun one
// with the same SimConfig to replay it exactly.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>

#include "gossip/rng.h"
#include "nitro/sim.h"

using namespace nitro;
using nitro::sim::SimConfig;
using nitro::sim::Simulator;

namespace {

struct Coverage {
  std::size_t expected = 0;
  std::size_t delivered = 0;
  double ratio() const { return expected == 0 ? 1.0 : static_cast<double>(delivered) / static_cast<double>(expected); }
};

// Subscribes every node to `topic`, lets membership settle, publishes `messages` from random live
// nodes spaced `gap_ms` apart, then runs `drain_ms` more. Expected receivers: nodes alive at the
// end (and the whole time), one delivery per (node, message).
Coverage publish_and_count(Simulator& s, std::size_t messages, std::uint64_t gap_ms, std::uint64_t drain_ms,
                           std::uint64_t pick_seed) {
  const std::string topic = "t";
  std::uint64_t x = pick_seed;
  std::vector<std::pair<PeerId, std::uint64_t>> published;
  s.clear_deliveries();
  for (std::size_t m = 0; m < messages; ++m) {
    std::size_t from = 0;
    for (int tries = 0; tries < 100; ++tries) {
      from = static_cast<std::size_t>(nitro::gossip::Rng::splitmix(x) % s.size());
      if (s.alive(from)) break;
    }
    auto seq = s.publish(from, topic, Bytes{static_cast<std::uint8_t>(m), 1, 2, 3});
    if (seq.ok()) published.emplace_back(s.node(from)->id(), *seq);
    s.run_for(gap_ms);
  }
  s.run_for(drain_ms);
  std::set<std::tuple<std::size_t, PeerId, std::uint64_t>> got;
  for (const auto& d : s.deliveries()) got.insert({d.node, d.origin, d.seq});
  Coverage c;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (!s.alive(i)) continue;
    for (const auto& [origin, seq] : published) {
      c.expected++;
      c.delivered += got.count({i, origin, seq});
    }
  }
  return c;
}

void subscribe_all(Simulator& s, const std::string& topic) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s.alive(i)) REQUIRE(s.subscribe(i, topic).ok());
  }
}

}  // namespace

TEST_CASE("gossip sim: smoke, 20 nodes without faults", "[gossip]") {
  SimConfig c;
  c.seed = 7;
  c.nodes = 20;
  Simulator s(c);
  subscribe_all(s, "t");
  s.run_until(10000);
  INFO(s.describe());
  CHECK(s.membership_converged());
  auto cov = publish_and_count(s, 10, 100, 5000, 1);
  INFO("delivered " << cov.delivered << "/" << cov.expected);
  CHECK(cov.delivered == cov.expected);
}
