// Revocations committed on a chain reach nodes gossip missed. Four validators run access control
// and the chain; node 0 holds a token. Node 3 is down while a revocation is gossiped and committed
// (op auth.revoke). When it comes back, it catches up from the chain — by block sync after a short
// outage, by a snapshot (state sync) after a long one — and from then on refuses the token; its
// access protocol counts the record its chain handed over (so it did not merely learn it late by
// gossip). Safety: no validator halts and all agree on the state root; liveness: node 3 refuses
// the token within the stated bound after it restarts.
#include <catch2/catch.hpp>

#include <algorithm>

#include "nitro/auth.h"
#include "nitro/bls.h"
#include "nitro/codec.h"
#include "nitro/consensus.h"
#include "nitro/sim.h"
#include "test_util.h"

using namespace nitro;
using nitro::consensus::ConsensusConfig;
using nitro::consensus::ConsensusProtocol;

namespace {

constexpr std::uint64_t kStartMs = 3000;
constexpr std::uint64_t kCatchUpBoundMs = 20000;  // after restart: the revocation honoured
constexpr std::int64_t kEpochOffsetMs = 1'700'000'000'000;
constexpr std::size_t kHolder = 0, kLate = 3;

crypto::Identity authority() {
  crypto::Seed s{};
  s.fill(0x37);
  return crypto::Identity::from_seed(s);
}

struct Fixture {
  sim::Simulator sim;
  std::vector<consensus::Validator> validators;
  std::vector<bls::SecretKey> sks;
  auth::Token token;
  std::uint64_t snapshot_interval;

  Fixture(std::uint64_t seed, std::uint64_t snapshot_every) : sim(config(seed)), snapshot_interval(snapshot_every) {
    for (std::size_t i = 0; i < sim.size(); ++i) {
      Bytes ikm(32, static_cast<std::uint8_t>(i + 7));
      for (int k = 0; k < 8; ++k) ikm[k] ^= static_cast<std::uint8_t>(seed >> (8 * k));
      sks.push_back(*bls::key_gen(ikm));
      consensus::Validator v;
      v.id = sim.node(i)->id();
      v.bls_pk = bls::sk_to_pk(sks[i], bls::kMinSigPop.pk_group());
      v.bls_pop = consensus::bls_pop(sks[i]);
      validators.push_back(v);
    }
    auth::TokenPayload p;
    p.issuer = authority().peer_id();
    p.subject = sim.node(kHolder)->id();
    p.grants = {{"publish", "orders.>"}};
    p.expires_ms = static_cast<std::uint64_t>(kEpochOffsetMs) * 2;
    auto t = auth::sign_token(p, authority());
    REQUIRE(t.ok());
    token = *t;
    for (std::size_t i = 0; i < sim.size(); ++i) attach(i);
  }

  static sim::SimConfig config(std::uint64_t seed) {
    sim::SimConfig c;
    c.seed = seed;
    c.nodes = 4;
    return c;
  }

  // Access first, so the chain's replay on restart already finds it.
  void attach(std::size_t i) {
    auth::AccessConfig a;
    a.authorities = {authority().peer_id()};
    a.epoch_offset_ms = kEpochOffsetMs;
    auto rules = auth::parse_rules("allow chain.submit > any");  // publishing needs a token
    REQUIRE(rules.ok());
    a.rules = *rules;
    if (i == kHolder) a.tokens = {auth::encode_token(token)};
    auto access = auth::Access::create(a);
    REQUIRE(access.ok());
    REQUIRE(sim.node(i)->add_protocol(auth::kChannel, std::move(*access)).ok());
    ConsensusConfig cfg;
    cfg.chain_id = "auth-sim";
    cfg.validators = validators;
    cfg.bls_sk = sks[i];
    cfg.identity_seed = sim.node(i)->config().identity_seed;
    cfg.start_ms = std::max(kStartMs, sim.now_ms());
    cfg.timeout_ms = 600;
    cfg.timeout_ms_max = 4800;
    cfg.empty_block_ms = 20;
    cfg.snapshot_interval = snapshot_interval;
    auto p = ConsensusProtocol::create(cfg, sim.node(i)->id());
    REQUIRE(p.ok());
    REQUIRE(sim.node(i)->add_protocol(consensus::kDefaultChannel, std::move(*p)).ok());
  }

  ConsensusProtocol* chain(std::size_t i) {
    return dynamic_cast<ConsensusProtocol*>(sim.node(i)->protocol(consensus::kDefaultChannel));
  }
  auth::Access* access(std::size_t i) { return dynamic_cast<auth::Access*>(sim.node(i)->protocol(auth::kChannel)); }
  Status holder_publish(std::size_t i) {
    Status s;
    sim.with_node(i, [&](Node& n) { s = n.authorize(sim.node(kHolder)->id(), "publish", "orders.created"); });
    return s;
  }
  void check_agree() {
    const std::uint64_t h = std::min(chain(0)->committed_height(), chain(1)->committed_height());
    for (std::size_t i = 0; i < sim.size(); ++i) {
      if (!sim.alive(i)) continue;
      INFO("node " << i);
      REQUIRE_FALSE(chain(i)->halted().has_value());
      auto a = chain(0)->committed(h), b = chain(i)->committed(h);
      if (a && b) REQUIRE(a->state_root == b->state_root);
    }
  }
};

// `gap`: heights the chain moves on while node 3 is down (past 192, block sync gives up and it
// installs a snapshot).
void run(std::uint64_t seed, std::uint64_t gap, std::uint64_t snapshot_every) {
  Fixture f(seed, snapshot_every);
  f.sim.run_until(kStartMs + 3000);
  REQUIRE(f.chain(0)->committed_height() >= 3);
  for (int t = 0; t < 100 && !f.holder_publish(kLate).ok(); ++t) f.sim.run_for(100);
  REQUIRE(f.holder_publish(kLate).ok());  // node 3 has the holder's token
  f.sim.crash(kLate);

  // The authority revokes: gossiped from node 1 and committed on the chain.
  auto rec = auth::sign_revocation(f.token.id, authority(), 1);
  REQUIRE(rec.ok());
  const Bytes record = auth::encode_revocation(*rec);
  f.sim.with_node(1, [&](Node&) {
    REQUIRE(f.access(1)->revoke(record).ok());
    const Value args(Map{{Value("record"), Value(record)}, {Value("tokens"), Value(Array{Value(auth::encode_token(f.token))})}});
    REQUIRE(f.chain(1)->submit(auth::kChainRevokeOp, args, f.sim.now_ms()).ok());
  });
  const std::uint64_t from = f.chain(0)->committed_height();
  std::uint64_t waited = 0;
  while (f.chain(0)->committed_height() < from + gap && waited < 600000) {
    f.sim.run_for(500);
    waited += 500;
    f.check_agree();
  }
  REQUIRE(f.chain(0)->committed_height() >= from + gap);
  for (std::size_t i = 0; i < 3; ++i) {
    INFO("node " << i);
    CHECK(f.access(i)->revoked(f.token.id));
    CHECK(f.access(i)->stats().committed_revocations >= 1);
  }
  const std::string key = std::string(auth::kChainRevokedPrefix) + auth::to_hex(f.token.id) + "/" + authority().peer_id().to_string();
  REQUIRE(f.chain(0)->get(key) != nullptr);

  // Node 3 comes back with only what it had on its disk: no record of the revocation.
  f.sim.restart(kLate);
  f.attach(kLate);
  const std::uint64_t target = f.chain(0)->committed_height();
  waited = 0;
  // Done when caught up and refusing the token for being revoked (its bundle arrives again on the
  // new link; until then the refusal is "default", which would not show the revocation).
  auto refused_as_revoked = [&] { return f.holder_publish(kLate).message().find("revoked") != std::string::npos; };
  while ((f.chain(kLate)->committed_height() < target || !refused_as_revoked()) && waited < kCatchUpBoundMs) {
    f.sim.run_for(100);
    waited += 100;
  }
  INFO("node 3 at " << f.chain(kLate)->committed_height() << " of " << target << " after " << waited << " ms; "
                    << f.sim.describe());
  REQUIRE(f.chain(kLate)->committed_height() >= target);
  f.check_agree();
  REQUIRE(f.access(kLate)->revoked(f.token.id));
  CHECK(f.access(kLate)->stats().committed_revocations >= 1);  // its chain handed it over
  const Status refused = f.holder_publish(kLate);
  CHECK(refused.code() == Code::kPermissionDenied);
  CHECK(refused.message().find("revoked") != std::string::npos);
}

}  // namespace

TEST_CASE("auth chain sim: a node down during a revocation's gossip refuses the token after block sync", "[auth]") {
  for (auto seed : test::test_seeds("auth-chain-blocks", 2)) {
    INFO("reproduce with NITRO_SEED=" << seed);
    run(seed, 20, 128);
  }
}

TEST_CASE("auth chain sim: a node down long enough to need a snapshot refuses the token after state sync", "[auth]") {
  for (auto seed : test::test_seeds("auth-chain-snapshot", 1)) {
    INFO("reproduce with NITRO_SEED=" << seed);
    run(seed, 300, 32);
  }
}
