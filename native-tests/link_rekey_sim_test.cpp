// Link rekeying under the node: time-based rekeys every few hundred milliseconds, on a network
// that drops, duplicates and reorders frames, are invisible to pub/sub above the links.
#include <catch2/catch.hpp>

#include <set>
#include <tuple>

#include "nitro/sim.h"
#include "test_util.h"

using namespace nitro;
using namespace nitro::sim;

TEST_CASE("link rekey sim: pub/sub delivers everything across hundreds of rekeys with loss and reordering", "[gossip][crypto]") {
  // The regressions: frames of a connection replaced between the same pair reached the new one.
  for (std::uint64_t seed : nitro::test::test_seeds("link-rekey", 4, {7604244877250762, 262478210802559})) {
    SimConfig c = SimConfig::swarm(seed, 10);
    c.node.timers.link_rekey_ms = 250;
    Simulator s(c);
    INFO("reproduce with NITRO_SEED=" << seed << " (" << s.describe() << ")");
    for (std::size_t i = 0; i < s.size(); ++i) REQUIRE(s.subscribe(i, "t").ok());
    s.run_until(6000);
    nitro::test::SplitMix rng{seed};
    std::set<std::pair<PeerId, std::uint64_t>> published;
    s.clear_deliveries();
    for (int m = 0; m < 40; ++m) {
      const std::size_t from = rng.below(s.size());
      auto seq = s.publish(from, "t", Bytes{static_cast<std::uint8_t>(m)});
      REQUIRE(seq.ok());
      published.insert({s.node(from)->id(), *seq});
      s.run_for(150);
    }
    s.run_for(8000);
    std::set<std::tuple<std::size_t, PeerId, std::uint64_t>> got;
    for (const auto& d : s.deliveries()) got.insert({d.node, d.origin, d.seq});
    CHECK(got.size() == published.size() * s.size());
    const NodeStats total = s.total_stats();
    CHECK(total.rekeys >= 10 * 40);  // every link rekeyed many times during the run
    CHECK(total.auth_failures == 0);
    CHECK(total.strikes == 0);
  }
}
