// Simulation tests for the node, membership and pub/sub. Seeds come from test_seeds() (they vary per
// commit); every failure prints "reproduce with NITRO_SEED=<n>", which replays exactly that seed.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "gossip/membership.h"
#include "gossip/rng.h"
#include "gossip/wire.h"
#include "nitro/envelope.h"
#include "nitro/identity.h"
#include "nitro/sim.h"
#include "test_util.h"

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

// Per (receiver, origin, topic), deliveries come in strictly increasing seq order (at every node
// but `skip`).
bool ordered(const Simulator& s, std::size_t skip = SIZE_MAX) {
  std::map<std::tuple<std::size_t, PeerId, std::string>, std::uint64_t> last;
  for (const auto& d : s.deliveries()) {
    if (d.node == skip) continue;
    auto& l = last[{d.node, d.origin, d.topic}];
    if (d.seq <= l) return false;
    l = d.seq;
  }
  return true;
}

TEST_CASE("gossip sim: swarm of 200 seeds delivers to every live subscriber in order", "[gossip][swarm]") {
  std::size_t perfect = 0;
  const auto seeds = nitro::test::test_seeds("gossip-swarm", 200);
  for (std::uint64_t seed : seeds) {
    SimConfig c = SimConfig::swarm(seed, 8 + seed % 17).with_clock_faults();
    Simulator s(c);
    subscribe_all(s, "t");
    s.run_until(4000);
    INFO("reproduce with NITRO_SEED=" << seed << " (" << s.describe() << ")");
    auto joined_ms = converge_within(s, 20000);
    if (!joined_ms) {  // HyParView can leave rare seeds split for longer (docs/notes/faults.md): counted
      WARN("membership did not converge within 20 s: NITRO_SEED=" << seed);
      continue;
    }
    auto cov = publish_and_count(s, 5, 100, 5000, seed);
    INFO("delivered " << cov.delivered << "/" << cov.expected);
    CHECK(cov.ratio() >= 0.999);
    CHECK(ordered(s));
    CHECK(converge_within(s, 20000).has_value());  // views stay (or become again) symmetric and connected
    CHECK(s.total_stats().strikes == 0);  // no honest peer is ever struck, let alone refused
    perfect += cov.delivered == cov.expected;
  }
  CHECK(perfect >= seeds.size() - seeds.size() / 40);
}

TEST_CASE("gossip sim: 200 nodes without faults - every message reaches every subscriber", "[gossip][large]") {
  for (std::uint64_t seed : nitro::test::test_seeds("gossip-200", 2)) {
    SimConfig c;
    c.seed = seed;
    c.nodes = 200;
    c.start_spread_ms = 5000;
    Simulator s(c);
    subscribe_all(s, "t");
    s.run_until(15000);
    auto cov = publish_and_count(s, 20, 100, 8000, seed);
    INFO("reproduce with NITRO_SEED=" << seed << " (" << s.describe() << ") delivered " << cov.delivered << "/"
                                << cov.expected);
    CHECK(cov.delivered == cov.expected);
    CHECK(ordered(s));
    CHECK(converge_within(s, 10000).has_value());
  }
}

TEST_CASE("gossip sim: 200 nodes with 20% crashed and 10% loss reach at least 99.9% of live subscribers", "[gossip][large]") {
  for (std::uint64_t seed : nitro::test::test_seeds("gossip-200-crash", 2)) {
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
    INFO("reproduce with NITRO_SEED=" << seed << " (" << s.describe() << ") delivered " << cov.delivered << "/"
                                << cov.expected);
    CHECK(cov.ratio() >= 0.999);
    CHECK(ordered(s));
  }
}

TEST_CASE("gossip sim: after a partition heals membership re-converges within 30 s", "[gossip][partition]") {
  // Stated bound: 30 s of virtual time after heal() (reconnect_interval 2 s, suspicion 3 s).
  constexpr std::uint64_t kBoundMs = 30000;
  // 5699077232671028: three nodes holding only each other never opened to the rest.
  for (std::uint64_t seed : nitro::test::test_seeds("gossip-partition", 10, {5699077232671028})) {
    const bool symmetric = seed % 2 == 0;
    SimConfig c = SimConfig::swarm(seed, 24 + seed % 9).with_clock_faults();
    Simulator s(c);
    subscribe_all(s, "t");
    s.run_until(4000);
    INFO("reproduce with NITRO_SEED=" << seed << " (" << s.describe() << ") symmetric=" << symmetric);
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

// The active views, for failure messages: "i:[j,k] ...".
std::string views(const Simulator& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    out += std::to_string(i) + ":[";
    if (s.alive(i)) {
      for (const auto& p : const_cast<Simulator&>(s).node(i)->neighbors()) out += std::to_string(s.index_of(p)) + ",";
    } else {
      out += "down";
    }
    out += "] ";
  }
  return out;
}

// Deliveries per (receiver, origin, seq), to check exactly-once.
std::map<std::tuple<std::size_t, PeerId, std::uint64_t>, int> delivery_counts(const Simulator& s) {
  std::map<std::tuple<std::size_t, PeerId, std::uint64_t>, int> n;
  for (const auto& d : s.deliveries()) n[{d.node, d.origin, d.seq}]++;
  return n;
}

// The product's crash: the publisher dies at a seeded instant (right after a publish, or a few ms
// later, so some store batches are still unsynced and some frames still queued), restarts from
// what its store holds, and publishes again. Safety: nothing is ever delivered twice. Liveness
// after the heal (bound: 10 s of virtual time, reorder_wait 2 s included): every message published
// after the restart reaches every live subscriber exactly once.
TEST_CASE("gossip sim: a publisher crashed at any instant restarts from its store and is heard exactly once", "[gossip][restart]") {
  constexpr std::uint64_t kLivenessBoundMs = 10000;
  for (std::uint64_t seed : nitro::test::test_seeds("gossip-restart", 30)) {
    nitro::test::SplitMix r{seed};
    SimConfig c = SimConfig::swarm(seed, 6 + seed % 9).with_clock_faults();
    Simulator s(c);
    subscribe_all(s, "t");
    s.run_until(4000);
    INFO("reproduce with NITRO_SEED=" << seed << " (" << s.describe() << ")");
    const bool joined = converge_within(s, 20000).has_value();
    INFO("views " << views(s));
    CHECK(joined);
    if (!joined) continue;  // counted; the other seeds still run
    const std::size_t pub = 1 + r.below(s.size() - 1);
    const PeerId id = s.node(pub)->id();
    INFO("publisher " << pub);
    const std::size_t before = 1 + r.below(30);
    for (std::size_t m = 0; m < before; ++m) {
      REQUIRE(s.publish(pub, "t", Bytes{static_cast<std::uint8_t>(m)}).ok());
      s.run_for(r.below(3) == 0 ? 0 : r.below(50));
    }
    s.crash(pub);
    const std::uint64_t down_ms = r.below(8000);
    s.run_for(down_ms);
    s.restart(pub);
    REQUIRE(s.alive(pub));
    CHECK(s.node(pub)->id() == id);
    REQUIRE(s.subscribe(pub, "t").ok());
    // Rejoining after a restart takes longer than the first join on a lossy network (measured up to
    // 21 s with 5% loss, 14 nodes): the stale half of an asymmetric edge waits for its probe.
    const bool rejoined = converge_within(s, 40000).has_value();
    INFO("down for " << down_ms << " ms; views " << views(s));
    CHECK(rejoined);
    if (!rejoined) continue;
    // The highest number of the first life any other node ever got (a number whose reservation
    // the crash lost was never sent, so it may be reused; the publisher's own local deliveries
    // died with its process).
    std::uint64_t last_seen = 0;
    for (const auto& d : s.deliveries()) {
      if (d.node != pub && d.origin == id) last_seen = std::max(last_seen, d.seq);
    }
    std::vector<std::uint64_t> fresh;
    for (std::size_t m = 0; m < 5; ++m) {
      auto seq = s.publish(pub, "t", Bytes{static_cast<std::uint8_t>(100 + m)});
      REQUIRE(seq.ok());
      CHECK(*seq > last_seen);  // above every number the first life sent
      fresh.push_back(*seq);
      s.run_for(50);
    }
    s.run_for(kLivenessBoundMs);
    const auto counts = delivery_counts(s);
    for (const auto& [key, n] : counts) {
      INFO("node " << std::get<0>(key) << " seq " << std::get<2>(key));
      if (std::get<0>(key) != pub) CHECK(n == 1);
    }
    for (std::size_t i = 0; i < s.size(); ++i) {
      for (auto seq : fresh) {
        auto it = counts.find({i, id, seq});
        INFO("node " << i << " missed seq " << seq);
        CHECK((it != counts.end() && (i == pub || it->second == 1)));
      }
    }
    CHECK(ordered(s, pub));
    CHECK(s.total_stats().strikes == 0);
  }
}

TEST_CASE("gossip sim: a restarted node keeps its identity and rejoins from its stored views", "[gossip][restart]") {
  const std::uint64_t seed = nitro::test::test_seeds("gossip-rejoin", 1)[0];
  SimConfig c = SimConfig::swarm(seed, 16).with_clock_faults();
  Simulator s(c);
  subscribe_all(s, "t");
  s.run_until(4000);
  INFO("reproduce with NITRO_SEED=" << seed << " (" << s.describe() << ")");
  REQUIRE(converge_within(s, 20000).has_value());
  s.run_for(2000);  // the views are written at most once a second
  const PeerId before = s.node(0)->id();  // node 0 has no bootstrap contact: only its views
  CHECK(s.stored(0).count("node/identity") == 1);
  CHECK(s.stored(0).count("node/peers") == 1);
  s.crash(0);
  s.run_for(10000);
  CHECK(converge_within(s, 20000).has_value());  // the survivors repair their views
  s.restart(0);
  REQUIRE(s.alive(0));
  CHECK(s.node(0)->id() == before);
  REQUIRE(s.subscribe(0, "t").ok());
  REQUIRE(converge_within(s, 20000).has_value());
  auto cov = publish_and_count(s, 5, 100, 5000, seed);
  CHECK(cov.delivered == cov.expected);
  CHECK(s.total_stats().strikes == 0);
}

TEST_CASE("gossip sim: one seed replays exactly", "[gossip]") {
  auto run = [](std::uint64_t seed) {
    SimConfig c = SimConfig::swarm(seed, 12).with_clock_faults();
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
  const std::uint64_t seed = nitro::test::test_seeds("gossip-replay", 1)[0];
  INFO("reproduce with NITRO_SEED=" << seed);
  CHECK(run(seed) == run(seed));
  CHECK(run(seed) != run(seed + 1));
}

// No honest node refuses another; every node the attacker is still linked to was never struck
// enough to refuse it (a node refusing it has no link to it left).
void check_refusals(Simulator& s, std::size_t byz) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i == byz || !s.alive(i)) continue;
    for (std::size_t j = 0; j < s.size(); ++j) {
      if (j == byz || j == i || !s.alive(j)) continue;
      INFO("honest node " << i << " refuses honest node " << j);
      CHECK(!s.node(i)->refuses(s.node(j)->id()));
    }
    const auto n = s.node(i)->neighbors();
    if (s.node(i)->refuses(s.node(byz)->id())) CHECK(std::find(n.begin(), n.end(), s.node(byz)->id()) == n.end());
  }
}

// A Byzantine peer: authenticated (a real node with a real link), but everything it injects is
// hostile — envelopes whose origin is an honest node (forged: the signature is its own), its own
// signed messages replayed many times in reverse order (duplication and reordering above the link
// layer), undecodable junk, and shuffles and forward-joins poisoning the views with peers that do
// not exist. Safety under the attack: nothing forged is delivered, nothing delivered twice, order
// kept; the refusals are counted. Liveness: every honest message published during the attack and
// after it reaches every honest node (bound: 8 s of virtual time after the last publish).
TEST_CASE("gossip sim: a Byzantine peer's forgeries, replays, junk and fake peers are refused and cost no honest delivery", "[gossip][byzantine]") {
  for (std::uint64_t seed : nitro::test::test_seeds("gossip-byzantine", 10, {6725701186045846})) {
    nitro::test::SplitMix r{seed};
    SimConfig c = SimConfig::swarm(seed, 8 + seed % 7).with_clock_faults();
    c.drop_rate = 0;  // every miss is then the attack's doing, not the network's
    Simulator s(c);
    subscribe_all(s, "t");
    s.run_until(4000);
    INFO("reproduce with NITRO_SEED=" << seed << " (" << s.describe() << ")");
    REQUIRE(converge_within(s, 20000).has_value());
    const std::size_t byz = 1 + r.below(s.size() - 1);
    const auto byz_identity = crypto::Identity::from_seed(s.node(byz)->config().identity_seed);
    std::size_t honest = byz == 1 ? 2 : 1;
    const PeerId victim = s.node(honest)->id();
    INFO("byzantine node " << byz);
    std::vector<Bytes> own;  // the Byzantine node's own signed messages, replayed below
    for (std::uint64_t k = 1; k <= 5; ++k) {
      own.push_back(crypto::Envelope::sign(byz_identity, k, s.local_ms(byz), "t", Bytes{9, static_cast<std::uint8_t>(k)})->encode());
    }
    auto attack = [&](std::uint64_t round) {
      s.with_node(byz, [&](Node& n) {
        for (const auto& peer : n.neighbors()) {
          gossip::Msg m;
          m.kind = gossip::Kind::kGossip;
          auto forged = *crypto::Envelope::sign(byz_identity, 1000 + round, s.local_ms(byz), "t", Bytes{6, 6});
          forged.origin = victim;
          m.body = forged.encode();
          (void)n.inject_frame(peer, gossip::encode(m));
          for (auto it = own.rbegin(); it != own.rend(); ++it) {
            m.body = *it;
            (void)n.inject_frame(peer, gossip::encode(m));
          }
          Bytes junk(1 + r.below(40));
          for (auto& b : junk) b = static_cast<std::uint8_t>(r.below(256));
          (void)n.inject_frame(peer, junk);
          gossip::Msg poison;
          poison.kind = round % 2 ? gossip::Kind::kShuffle : gossip::Kind::kForwardJoin;
          poison.has_peer = true;
          poison.peer = gossip::PeerRef{n.id(), n.config().listen_address};
          for (int f = 0; f < 8; ++f) {
            crypto::Seed fake{};
            fake[0] = static_cast<std::uint8_t>(round);
            fake[1] = static_cast<std::uint8_t>(f);
            fake[2] = 0xbb;
            poison.peers.push_back(gossip::PeerRef{crypto::Identity::from_seed(fake).peer_id(), "x" + std::to_string(f)});
          }
          if (poison.kind == gossip::Kind::kForwardJoin) poison.peer = poison.peers[0];
          poison.ttl = 2;
          (void)n.inject_frame(peer, gossip::encode(poison));
        }
      });
    };
    std::vector<std::pair<PeerId, std::uint64_t>> published;
    for (std::uint64_t round = 0; round < 20; ++round) {
      attack(round);
      std::size_t from = r.below(s.size());
      if (from == byz) from = honest;
      auto seq = s.publish(from, "t", Bytes{static_cast<std::uint8_t>(round)});
      REQUIRE(seq.ok());
      published.emplace_back(s.node(from)->id(), *seq);
      s.run_for(100);
    }
    s.run_for(8000);
    const auto counts = delivery_counts(s);
    for (const auto& [key, n] : counts) {
      INFO("node " << std::get<0>(key) << " seq " << std::get<2>(key));
      CHECK(n == 1);                                           // no replay delivered twice
      CHECK(!(std::get<1>(key) == victim && std::get<2>(key) >= 1000));  // no forgery delivered
    }
    CHECK(ordered(s));
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (i == byz) continue;
      for (const auto& [origin, seq] : published) {
        INFO("honest node " << i << " missed seq " << seq);
        CHECK(counts.count({i, origin, seq}) == 1);
      }
    }
    const NodeStats total = s.total_stats();
    CHECK(total.auth_failures > 0);   // forgeries refused and counted
    CHECK(total.decode_errors > 0);   // junk refused and counted
    CHECK(total.duplicate_payloads > 0);
    CHECK(total.strikes > 0);
    CHECK(total.peers_refused > 0);   // its neighbors cut it off after kStrikesMax strikes
    check_refusals(s, byz);
    // After the attack (the refused attacker gone) the overlay still heals and carries new honest
    // messages everywhere.
    s.crash(byz);
    REQUIRE(converge_within(s, 30000).has_value());
    s.clear_deliveries();
    std::vector<std::pair<PeerId, std::uint64_t>> after;
    for (int m = 0; m < 5; ++m) {
      std::size_t from = r.below(s.size());
      if (from == byz) from = honest;
      auto seq = s.publish(from, "t", Bytes{static_cast<std::uint8_t>(100 + m)});
      REQUIRE(seq.ok());
      after.emplace_back(s.node(from)->id(), *seq);
      s.run_for(100);
    }
    s.run_for(5000);
    const auto healed = delivery_counts(s);
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (i == byz) continue;
      for (const auto& [origin, seq] : after) {
        INFO("after the attack, node " << i << " missed seq " << seq);
        CHECK(healed.count({i, origin, seq}) == 1);
      }
    }
  }
}

// Membership poisoning: an authenticated peer that never sends a bad frame (so it is never struck)
// but answers shuffles nobody sent, ends shuffle walks at itself and forwards joins of peers that
// do not exist, each with more made-up peers than an honest message carries. Safety: made-up
// peers never fill an honest passive view, the refusals are counted, no honest message is lost. Liveness: once it stops, the made-up peers fail their
// dials and the overlay carries every new message everywhere.
TEST_CASE("gossip sim: a peer poisoning membership with made-up peers is budgeted and costs no honest delivery", "[gossip][byzantine]") {
  for (std::uint64_t seed : nitro::test::test_seeds("gossip-poison", 10)) {
    nitro::test::SplitMix r{seed};
    SimConfig c = SimConfig::swarm(seed, 8 + seed % 7).with_clock_faults();
    c.drop_rate = 0;
    Simulator s(c);
    subscribe_all(s, "t");
    s.run_until(4000);
    INFO("reproduce with NITRO_SEED=" << seed << " (" << s.describe() << ")");
    REQUIRE(converge_within(s, 20000).has_value());
    const std::size_t byz = 1 + r.below(s.size() - 1);
    INFO("byzantine node " << byz);
    std::uint32_t fakes = 0;
    auto made_up = [&](std::size_t n) {
      std::vector<gossip::PeerRef> out;
      for (std::size_t k = 0; k < n; ++k, ++fakes) {
        crypto::Seed fake{};
        for (int b = 0; b < 4; ++b) fake[b] = static_cast<std::uint8_t>(fakes >> (8 * b));
        fake[4] = 0xfa;
        out.push_back(gossip::PeerRef{crypto::Identity::from_seed(fake).peer_id(), "fake" + std::to_string(fakes)});
      }
      return out;
    };
    auto attack = [&] {
      s.with_node(byz, [&](Node& n) {
        const gossip::PeerRef self{n.id(), n.config().listen_address};
        for (const auto& peer : n.neighbors()) {
          gossip::Msg reply;
          reply.kind = gossip::Kind::kShuffleReply;
          reply.peers = made_up(40);
          (void)n.inject_frame(peer, gossip::encode(reply));
          gossip::Msg walk_end;  // ttl 0: the receiver integrates it and answers
          walk_end.kind = gossip::Kind::kShuffle;
          walk_end.has_peer = true;
          walk_end.peer = self;
          walk_end.peers = made_up(40);
          (void)n.inject_frame(peer, gossip::encode(walk_end));
          gossip::Msg join;  // at the passive walk length: the receiver keeps the joiner
          join.kind = gossip::Kind::kForwardJoin;
          join.has_peer = true;
          join.peer = made_up(1)[0];
          join.ttl = gossip::Membership::kPassiveWalkLength;
          (void)n.inject_frame(peer, gossip::encode(join));
        }
      });
    };
    auto fake_entries = [&](std::size_t i) {
      std::size_t n = 0;
      for (const auto& p : s.node(i)->passive_view()) n += s.index_of(p) == s.size();
      return n;
    };
    const std::size_t share_max = (c.node.passive_view_max + 1) / 2;
    std::vector<std::pair<PeerId, std::uint64_t>> published;
    for (std::uint64_t round = 0; round < 20; ++round) {
      attack();
      std::size_t from = r.below(s.size());
      if (from == byz) from = (byz + 1) % s.size();
      auto seq = s.publish(from, "t", Bytes{static_cast<std::uint8_t>(round)});
      REQUIRE(seq.ok());
      published.emplace_back(s.node(from)->id(), *seq);
      s.run_for(100);
      // Only refs the liar hands over itself are budgeted against it; honest peers pass its made-up
      // peers on in their own shuffles (seed 820089765940393: 18 of a 24-entry view), so the bound
      // that holds is that they never take the whole view (docs/notes/faults.md, Open).
      for (std::size_t i = 0; i < s.size(); ++i) {
        INFO("node " << i << " passive view " << s.node(i)->passive_view().size() << ", share " << share_max);
        if (i != byz) CHECK(fake_entries(i) < c.node.passive_view_max);
      }
    }
    s.run_for(8000);
    const auto counts = delivery_counts(s);
    for (std::size_t i = 0; i < s.size(); ++i) {
      for (const auto& [origin, seq] : published) {
        INFO("node " << i << " missed seq " << seq);
        CHECK(counts.count({i, origin, seq}) == 1);
      }
    }
    CHECK(ordered(s));
    const NodeStats total = s.total_stats();
    CHECK(total.membership_refused > 0);
    CHECK(total.strikes == 0);  // well-formed frames: poisoning is budgeted, not struck
    REQUIRE(converge_within(s, 30000).has_value());
    s.clear_deliveries();
    auto cov = publish_and_count(s, 5, 100, 5000, seed);
    CHECK(cov.delivered == cov.expected);
  }
}

namespace {

// Hop distance from `from` to every live node over the active views (breadth-first search): the
// fewest hops any push can take, an oracle independent of how Plumtree builds its trees.
std::vector<std::size_t> hop_distances(Simulator& s, std::size_t from) {
  std::vector<std::size_t> dist(s.size(), s.size());
  std::vector<std::size_t> frontier{from};
  dist[from] = 0;
  while (!frontier.empty()) {
    std::vector<std::size_t> next;
    for (std::size_t i : frontier) {
      for (const auto& p : s.node(i)->neighbors()) {
        const std::size_t j = s.index_of(p);
        if (j < s.size() && dist[j] == s.size()) {
          dist[j] = dist[i] + 1;
          next.push_back(j);
        }
      }
    }
    frontier = std::move(next);
  }
  return dist;
}

std::vector<std::set<PeerId>> active_views(Simulator& s) {
  std::vector<std::set<PeerId>> views;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto v = s.node(i)->neighbors();
    views.emplace_back(v.begin(), v.end());
  }
  return views;
}

}  // namespace

// A busy publisher gets its own tree, which Plumtree's IHAVE-round optimisation shortens: after a
// warm-up, each of its messages reaches every node once, never in fewer hops than the overlay's
// shortest path (a breadth-first search over the active views while the message spreads), on
// average within 10% of it, and with few duplicates. Messages during which an active view changed
// (a node now and then swaps in a passive peer) are not measured: the oracle holds for one overlay.
TEST_CASE("gossip sim: a busy publisher's own tree settles near its shortest paths", "[gossip][trees]") {
  // 7610807508144814: 0.106 duplicates per delivery; membership's own churn (a neighbor swapped
  // in now and then) costs a few, hence 0.2 below (untuned trees: about 0.5).
  for (std::uint64_t seed : nitro::test::test_seeds("gossip-origin-tree", 10, {7610807508144814})) {
    SimConfig c;
    c.seed = seed;
    c.nodes = 40 + seed % 41;
    Simulator s(c);
    subscribe_all(s, "t");
    s.run_until(4000);
    INFO("reproduce with NITRO_SEED=" << seed << " (" << s.describe() << ")");
    REQUIRE(converge_within(s, 20000).has_value());
    nitro::test::SplitMix r{seed};
    const std::size_t pub = r.below(s.size());
    for (int m = 0; m < 40; ++m) {  // warm-up: the tree is planted, pruned and shortened
      REQUIRE(s.publish(pub, "t", Bytes{1}).ok());
      s.run_for(50);
    }
    s.run_for(3000);
    double hops = 0, shortest = 0, deliveries = 0, dups = 0;
    int measured = 0;
    std::set<std::uint64_t> published;
    s.clear_deliveries();
    for (int m = 0; m < 80 && measured < 10; ++m) {
      const auto views = active_views(s);
      const auto dist = hop_distances(s, pub);
      const std::uint64_t dups_before = s.total_stats().duplicate_payloads;
      const std::size_t first = s.deliveries().size();
      auto seq = s.publish(pub, "t", Bytes{2});
      REQUIRE(seq.ok());
      published.insert(*seq);
      s.run_for(600);
      if (active_views(s) != views) continue;
      measured++;
      dups += static_cast<double>(s.total_stats().duplicate_payloads - dups_before);
      for (std::size_t k = first; k < s.deliveries().size(); ++k) {
        const auto& d = s.deliveries()[k];
        if (d.seq != *seq || d.node == pub) continue;  // a repair of an earlier message comes late
        INFO("node " << d.node << " got seq " << d.seq << " in " << d.hops << " hops, shortest " << dist[d.node]);
        CHECK(d.hops >= dist[d.node]);
        hops += d.hops;
        shortest += static_cast<double>(dist[d.node]);
        deliveries++;
      }
    }
    s.run_for(5000);
    std::map<std::pair<std::size_t, std::uint64_t>, int> got;
    for (const auto& d : s.deliveries()) got[{d.node, d.seq}]++;
    for (std::size_t i = 0; i < s.size(); ++i) {
      for (std::uint64_t seq : published) {
        INFO("node " << i << " seq " << seq);
        CHECK(got[{i, seq}] == 1);
      }
    }
    INFO(measured << " messages measured: hops " << hops << ", shortest " << shortest << ", duplicates " << dups);
    CHECK(measured == 10);
    CHECK(hops <= 1.1 * shortest);
    CHECK(dups <= 0.2 * deliveries);
  }
}
