// Access control across a simulated overlay: a token holder's pub/sub messages reach every node,
// a node without a token is neither relayed nor delivered, and a revocation published on one node
// reaches every node, which from then on refuses the revoked token. Phase one runs with message
// loss (safety: no node ever delivers the unauthorized publisher's messages); phase two heals and
// requires the revocation everywhere within a bound of virtual time.
#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>

#include "nitro/auth.h"
#include "nitro/sim.h"
#include "test_util.h"

using namespace nitro;

namespace {

constexpr std::size_t kNodes = 12;
constexpr std::uint64_t kJoinMs = 15000;
// The holder's token known everywhere. A node that meets the overlay only after the holder's last
// announce (a lossy join can take longer than kJoinMs) learns the token from the next periodic
// re-announce, so the bound covers one announce interval plus time for the gossip to spread.
const std::uint64_t kTokenBoundMs = auth::AccessConfig{}.announce_interval_ms + 10000;
constexpr std::uint64_t kRevokeBoundMs = 10000;  // a revocation honoured everywhere (lossy phase)
constexpr std::int64_t kEpochOffsetMs = 1'700'000'000'000;
constexpr std::size_t kHolder = 1, kOutsider = 2, kRevoker = 5;

crypto::Identity authority() {
  crypto::Seed s{};
  s.fill(0x42);
  return crypto::Identity::from_seed(s);
}

std::vector<Bytes> holder_bundle(const PeerId& holder, auth::TokenId& id) {
  const auto root = authority();
  auth::TokenPayload p;
  p.issuer = root.peer_id();
  p.subject = holder;
  p.grants = {{"publish", "orders.>"}};
  p.not_before_ms = 0;
  p.expires_ms = static_cast<std::uint64_t>(kEpochOffsetMs) * 2;
  auto t = auth::sign_token(p, root);
  REQUIRE(t.ok());
  id = t->id;
  return {auth::encode_token(*t)};
}

std::size_t deliveries_from(sim::Simulator& sim, const PeerId& origin, const std::string& topic) {
  std::set<std::size_t> nodes;
  for (const auto& d : sim.deliveries()) {
    if (d.origin == origin && d.topic == topic) nodes.insert(d.node);
  }
  return nodes.size();
}

std::size_t holders_allowed(sim::Simulator& sim) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < sim.size(); ++i) {
    if (i == kHolder) continue;
    sim.with_node(i, [&](Node& node) {
      if (node.authorize(sim.node(kHolder)->id(), "publish", "orders.created").ok()) n++;
    });
  }
  return n;
}

std::size_t seen_revocation(sim::Simulator& sim, const auth::TokenId& id) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < sim.size(); ++i) {
    auto* a = dynamic_cast<auth::Access*>(sim.node(i)->protocol(auth::kChannel));
    if (a && a->revoked(id)) n++;
  }
  return n;
}

}  // namespace

TEST_CASE("auth sim: publish rights and revocation spread to every node under loss") {
  // The swarm's own loss (at least 3%), and a heavy 10% on every link.
  for (const double min_loss : {0.03, 0.10}) {
    for (std::uint64_t seed : test::test_seeds("auth-sim", 4, {1265954847864977})) {
      INFO("reproduce with NITRO_SEED=" << seed << ", loss >= " << min_loss);
      auto cfg = sim::SimConfig::swarm(seed, kNodes);
      cfg.drop_rate = std::max(cfg.drop_rate, min_loss);
      sim::Simulator sim(cfg);
      auth::TokenId token{};
      const std::vector<Bytes> bundle = holder_bundle(sim.node(kHolder)->id(), token);
      for (std::size_t i = 0; i < kNodes; ++i) {
        auth::AccessConfig c;
        c.authorities = {authority().peer_id()};
        c.epoch_offset_ms = kEpochOffsetMs;
        auto rules = auth::parse_rules("allow subscribe orders.> any");  // publishing needs a token
        REQUIRE(rules.ok());
        c.rules = *rules;
        if (i == kHolder) c.tokens = bundle;
        auto a = auth::Access::create(c);
        REQUIRE(a.ok());
        sim.with_node(i, [&](Node& node) { REQUIRE(node.add_protocol(auth::kChannel, std::move(*a)).ok()); });
        REQUIRE(sim.subscribe(i, "orders.created").ok());
      }
      sim.run_for(kJoinMs);

      // The holder's token reaches every node (directly on links, by gossip for the others).
      std::uint64_t t0 = sim.now_ms();
      while (holders_allowed(sim) < kNodes - 1 && sim.now_ms() - t0 < kTokenBoundMs) sim.run_for(100);
      REQUIRE(holders_allowed(sim) == kNodes - 1);

      // Safety under loss: the outsider's messages go nowhere; the holder's reach subscribers.
      for (int k = 0; k < 5; ++k) {
        REQUIRE(sim.publish(kOutsider, "orders.created", Bytes{1}).ok());
        REQUIRE(sim.publish(kHolder, "orders.created", Bytes{2}).ok());
        sim.run_for(500);
      }
      sim.run_for(5000);
      CHECK(deliveries_from(sim, sim.node(kOutsider)->id(), "orders.created") <= 1);  // only its own
      CHECK(deliveries_from(sim, sim.node(kHolder)->id(), "orders.created") >= kNodes - 1);

      // Revocation, signed offline by the authority, handed to one node: everyone honours it.
      auto record = auth::sign_revocation(token, authority(), 1);
      REQUIRE(record.ok());
      const Bytes bytes = auth::encode_revocation(*record);
      sim.with_node(kRevoker, [&](Node& node) {
        auto* a = dynamic_cast<auth::Access*>(node.protocol(auth::kChannel));
        REQUIRE(a != nullptr);
        REQUIRE(a->revoke(bytes).ok());
      });
      t0 = sim.now_ms();
      while (seen_revocation(sim, token) < kNodes && sim.now_ms() - t0 < kRevokeBoundMs) sim.run_for(50);
      const std::uint64_t took = sim.now_ms() - t0;
      INFO("revocation reached " << seen_revocation(sim, token) << "/" << kNodes << " nodes in " << took << " ms; "
                                 << sim.describe());
      REQUIRE(seen_revocation(sim, token) == kNodes);
      CHECK(holders_allowed(sim) == 0);
      sim.clear_deliveries();
      REQUIRE(sim.publish(kHolder, "orders.created", Bytes{3}).ok());
      sim.set_drop_rate(0);
      sim.run_for(5000);
      CHECK(deliveries_from(sim, sim.node(kHolder)->id(), "orders.created") <= 1);
    }
  }
}
