// Simulation tests for the node, membership and pub/sub. Every assertion names its seed; rerun one
// with the same SimConfig to replay it exactly.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <optional>
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

// Runs in 250 ms steps until the membership has converged; returns the time it took, or nullopt
// after `bound_ms`.
std::optional<std::uint64_t> converge_within(Simulator& s, std::uint64_t bound_ms) {
  const std::uint64_t t0 = s.now_ms();
  while (!s.membership_converged()) {
    if (s.now_ms() - t0 >= bound_ms) return std::nullopt;
    s.run_for(250);
  }
  return s.now_ms() - t0;
}

// Per (receiver, origin, topic), deliveries come in strictly increasing seq order.
bool ordered(const Simulator& s) {
  std::map<std::tuple<std::size_t, PeerId, std::string>, std::uint64_t> last;
  for (const auto& d : s.deliveries()) {
    auto& l = last[{d.node, d.origin, d.topic}];
    if (d.seq <= l) return false;
    l = d.seq;
  }
  return true;
}

TEST_CASE("gossip sim: swarm of 200 seeds delivers to every live subscriber in order", "[gossip][swarm]") {
  std::size_t perfect = 0;
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    SimConfig c = SimConfig::swarm(seed, 8 + seed % 17);
    Simulator s(c);
    subscribe_all(s, "t");
    s.run_until(4000);
    INFO("reproduce with seed=" << seed << " (" << s.describe() << ")");
    auto joined_ms = converge_within(s, 20000);
    REQUIRE(joined_ms.has_value());
    auto cov = publish_and_count(s, 5, 100, 5000, seed);
    INFO("delivered " << cov.delivered << "/" << cov.expected);
    CHECK(cov.ratio() >= 0.999);
    CHECK(ordered(s));
    CHECK(converge_within(s, 20000).has_value());  // views stay (or become again) symmetric and connected
    perfect += cov.delivered == cov.expected;
  }
  CHECK(perfect >= 195);
}

TEST_CASE("gossip sim: 200 nodes without faults - every message reaches every subscriber", "[gossip][large]") {
  for (std::uint64_t seed : {101u, 202u}) {
    SimConfig c;
    c.seed = seed;
    c.nodes = 200;
    c.start_spread_ms = 5000;
    Simulator s(c);
    subscribe_all(s, "t");
    s.run_until(15000);
    auto cov = publish_and_count(s, 20, 100, 8000, seed);
    INFO("reproduce with seed=" << seed << " (" << s.describe() << ") delivered " << cov.delivered << "/"
                                << cov.expected);
    CHECK(cov.delivered == cov.expected);
    CHECK(ordered(s));
    CHECK(converge_within(s, 10000).has_value());
  }
}

TEST_CASE("gossip sim: 200 nodes with 20% crashed and 10% loss reach at least 99.9% of live subscribers", "[gossip][large]") {
  for (std::uint64_t seed : {303u, 404u}) {
    SimConfig c;
    c.seed = seed;
    c.nodes = 200;
    c.start_spread_ms = 5000;
    Simulator s(c);
    subscribe_all(s, "t");
    s.run_until(15000);
    s.set_drop_rate(0.10);
    std::uint64_t x = seed;
    std::size_t crashed = 0;
    while (crashed < c.nodes / 5) {
      const std::size_t i = nitro::gossip::Rng::splitmix(x) % c.nodes;
      if (s.alive(i)) {
        s.crash(i);
        ++crashed;
      }
    }
    s.run_for(10000);  // failure detection and view repair
    auto cov = publish_and_count(s, 20, 200, 10000, seed);
    INFO("reproduce with seed=" << seed << " (" << s.describe() << ") delivered " << cov.delivered << "/"
                                << cov.expected);
    CHECK(cov.ratio() >= 0.999);
    CHECK(ordered(s));
  }
}

TEST_CASE("gossip sim: after a partition heals membership re-converges within 30 s", "[gossip][partition]") {
  // Stated bound: 30 s of virtual time after heal() (reconnect_interval 2 s, suspicion 3 s).
  constexpr std::uint64_t kBoundMs = 30000;
  for (std::uint64_t seed = 500; seed < 510; ++seed) {
    const bool symmetric = seed % 2 == 0;
    SimConfig c = SimConfig::swarm(seed, 24 + seed % 9);
    Simulator s(c);
    subscribe_all(s, "t");
    s.run_until(4000);
    INFO("reproduce with seed=" << seed << " (" << s.describe() << ") symmetric=" << symmetric);
    REQUIRE(converge_within(s, 20000).has_value());
    std::vector<std::size_t> side_a;
    for (std::size_t i = 0; i < s.size(); i += 2) side_a.push_back(i);
    s.partition(side_a, symmetric);
    s.run_for(20000);  // long enough for failure detection to cut every cross link
    s.heal();
    auto healed_ms = converge_within(s, kBoundMs);
    REQUIRE(healed_ms.has_value());
    // And the healed overlay carries messages across the former cut.
    auto cov = publish_and_count(s, 4, 100, 5000, seed);
    INFO("healed in " << *healed_ms << " ms; delivered " << cov.delivered << "/" << cov.expected);
    CHECK(cov.ratio() >= 0.999);
  }
}

TEST_CASE("gossip sim: a crashed node restarts from its persisted state", "[gossip]") {
  SimConfig c = SimConfig::swarm(77, 16);
  Simulator s(c);
  subscribe_all(s, "t");
  s.run_until(4000);
  INFO("reproduce with seed=77 (" << s.describe() << ")");
  REQUIRE(converge_within(s, 20000).has_value());
  const PeerId before = s.node(5)->id();
  REQUIRE(s.publish(5, "t", Bytes{1}).ok());
  REQUIRE(s.publish(5, "t", Bytes{2}).ok());
  s.run_for(2000);
  s.crash(5);
  s.run_for(10000);
  CHECK(converge_within(s, 20000).has_value());  // the survivors repair their views
  s.restart(5);
  REQUIRE(s.alive(5));
  CHECK(s.node(5)->id() == before);
  REQUIRE(s.subscribe(5, "t").ok());
  REQUIRE(converge_within(s, 20000).has_value());
  auto seq = s.publish(5, "t", Bytes{3});
  REQUIRE(seq.ok());
  CHECK(*seq == 3);  // sequence numbers survive the restart, so receivers do not drop it as old
  s.run_for(5000);
  std::set<std::size_t> got_third;
  for (const auto& d : s.deliveries()) {
    if (d.origin == before && d.seq == 3) got_third.insert(d.node);
  }
  CHECK(got_third.size() == s.size());
  auto cov = publish_and_count(s, 5, 100, 5000, 77);
  CHECK(cov.delivered == cov.expected);
}

TEST_CASE("gossip sim: one seed replays exactly", "[gossip]") {
  auto run = [](std::uint64_t seed) {
    SimConfig c = SimConfig::swarm(seed, 12);
    c.drop_rate = 0.05;
    Simulator s(c);
    subscribe_all(s, "t");
    s.run_until(5000);
    s.crash(3);
    auto cov = publish_and_count(s, 5, 100, 4000, seed);
    std::vector<std::tuple<std::size_t, std::uint64_t, std::uint32_t, std::uint64_t>> trace;
    for (const auto& d : s.deliveries()) trace.emplace_back(d.node, d.seq, d.hops, d.at_ms);
    return std::make_tuple(trace, s.net().frames_sent, s.net().bytes_sent, cov.delivered);
  };
  CHECK(run(4242) == run(4242));
  CHECK(run(4242) != run(4243));
}
