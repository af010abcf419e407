// Simulator tests for the BFT chain on real nitro::Nodes (secure links, seeded network faults):
// safety (no two honest validators commit different blocks or reach different state roots at a
// height) with f Byzantine validators, partitions, loss, duplication, reordering and a
// crash/restart from persisted records; then heal and require commits to resume within a stated
// bound of virtual time. Every failure names its seed: rerun with NITRO_SEED=<n>.
#include <catch2/catch.hpp>

#include <map>
#include <set>

#include "nitro/codec.h"
#include "nitro/consensus.h"
#include "nitro/sim.h"
#include "test_util.h"

using namespace nitro;
using nitro::consensus::Byzantine;
using nitro::consensus::ConsensusConfig;
using nitro::consensus::ConsensusProtocol;
using nitro::sim::SimConfig;
using nitro::sim::Simulator;

namespace {

constexpr std::uint64_t kStartMs = 3000;         // membership settles first
constexpr std::uint64_t kResumeBoundMs = 12000;  // after healing, every honest validator commits within this

const char* byz_name(Byzantine b) {
  switch (b) {
    case Byzantine::kNone: return "none";
    case Byzantine::kEquivocate: return "equivocate";
    case Byzantine::kConflictVotes: return "conflict-votes";
    case Byzantine::kInvalidQc: return "invalid-qc";
    case Byzantine::kGarbage: return "garbage";
    case Byzantine::kWithhold: return "withhold";
  }
  return "?";
}

struct ChainSim {
  Simulator sim;
  std::vector<consensus::Validator> validators;
  std::vector<bls::SecretKey> sks;
  std::vector<Byzantine> byz;
  std::vector<StoredRecords> disk;          // what each node's host made durable
  std::map<std::uint64_t, Bytes> hash_at;   // height -> the block every honest node committed
  std::map<std::uint64_t, Bytes> root_at;   // height -> the state root after it
  std::uint64_t nonce = 0;

  ChainSim(const SimConfig& c, std::vector<Byzantine> b) : sim(c), byz(std::move(b)), disk(c.nodes) {
    for (std::size_t i = 0; i < sim.size(); ++i) {
      Bytes ikm(32, static_cast<std::uint8_t>(i + 1));
      for (int k = 0; k < 8; ++k) ikm[k] ^= static_cast<std::uint8_t>(c.seed >> (8 * k));
      sks.push_back(*bls::key_gen(ikm));
      consensus::Validator v;
      v.id = sim.node(i)->id();
      v.bls_pk = bls::sk_to_pk(sks[i], bls::kMinSigPop.pk_group());
      v.bls_pop = consensus::bls_pop(sks[i]);
      validators.push_back(v);
    }
    for (std::size_t i = 0; i < sim.size(); ++i) attach(i);
  }

  void attach(std::size_t i) {
    ConsensusConfig cfg;
    cfg.chain_id = "sim";
    cfg.validators = validators;
    cfg.bls_sk = sks[i];
    cfg.identity_seed = sim.node(i)->config().identity_seed;
    cfg.start_ms = std::max(kStartMs, sim.now_ms());
    cfg.timeout_ms = 600;
    cfg.timeout_ms_max = 4800;
    cfg.empty_block_ms = 100;
    cfg.byzantine = byz[i];
    auto p = ConsensusProtocol::create(cfg, sim.node(i)->id());
    REQUIRE(p.ok());
    (*p)->restore(disk[i]);
    REQUIRE(sim.node(i)->add_protocol(consensus::kDefaultChannel, std::move(*p)).ok());
  }

  ConsensusProtocol* chain(std::size_t i) {
    if (!sim.alive(i)) return nullptr;
    return dynamic_cast<ConsensusProtocol*>(sim.node(i)->protocol(consensus::kDefaultChannel));
  }
  bool honest(std::size_t i) const { return byz[i] == Byzantine::kNone; }

  // The host's side of the write-ahead seam: drained records are durable.
  void sync_disk() {
    for (std::size_t i = 0; i < sim.size(); ++i) {
      if (!sim.alive(i)) continue;
      sim.with_node(i, [&](Node& n) {
        while (auto op = n.poll_store()) {
          const std::string prefix = std::string(consensus::kDefaultChannel) + "/";
          if (!op->key.starts_with(prefix)) continue;
          const std::string key = op->key.substr(prefix.size());
          if (op->value) disk[i][key] = *op->value; else disk[i].erase(key);
        }
      });
    }
  }

  void crash(std::size_t i) {
    sync_disk();
    sim.crash(i);
  }
  void restart(std::size_t i) {
    sim.restart(i);
    attach(i);
  }

  void submit_some(test::SplitMix& rng);

  // Every honest live node's committed blocks and roots agree with every other's, ever.
  void check_safety() {
    for (std::size_t i = 0; i < sim.size(); ++i) {
      auto* c = chain(i);
      if (!c || !honest(i)) continue;
      INFO(sim.describe() << " node " << i);
      REQUIRE_FALSE(c->halted().has_value());
      const std::uint64_t top = c->committed_height();
      for (std::uint64_t h = top > 256 ? top - 256 : 1; h <= top; ++h) {
        auto b = c->committed(h);
        if (!b) continue;
        auto [hit, fresh] = hash_at.emplace(h, b->hash);
        INFO("height " << h);
        REQUIRE(hit->second == b->hash);
        auto [rit, rfresh] = root_at.emplace(h, b->state_root);
        REQUIRE(rit->second == b->state_root);
      }
    }
  }

  std::uint64_t min_honest_height() {
    std::uint64_t m = UINT64_MAX;
    for (std::size_t i = 0; i < sim.size(); ++i) {
      if (auto* c = chain(i); c && honest(i)) m = std::min(m, c->committed_height());
    }
    return m;
  }
};



void ChainSim::submit_some(test::SplitMix& rng) {
  const std::size_t i = rng.below(sim.size());
  auto* c = chain(i);
  if (!c) return;
  const std::string key = "k" + std::to_string(rng.below(20));
  const Value args(Map{{Value("key"), Value(key)}, {Value("value"), Value(static_cast<std::int64_t>(++nonce))}});
  sim.with_node(i, [&](Node&) { (void)c->submit("kv.put", args, sim.now_ms()); });
}

std::string describe(const ChainSim& s) {
  std::string d = s.sim.describe() + " byzantine:";
  for (std::size_t i = 0; i < s.byz.size(); ++i) {
    if (s.byz[i] != Byzantine::kNone) d += " " + std::to_string(i) + "=" + byz_name(s.byz[i]);
  }
  return d;
}

// One seed: n = 4 (or 7), f of them Byzantine with seeded behaviours, swarm network faults, a
// partition and an honest crash/restart; then heal and require progress within the bound.
void run_seed(std::uint64_t seed) {
  test::SplitMix rng{seed};
  const std::size_t n = rng.percent(15) ? 7 : 4;
  const std::size_t f = (n - 1) / 3;
  SimConfig c = SimConfig::swarm(seed, n);
  std::vector<Byzantine> byz(n, Byzantine::kNone);
  for (std::size_t k = 0; k < f; ++k) {
    if (rng.percent(15)) continue;  // sometimes fewer than f
    byz[rng.below(n)] = static_cast<Byzantine>(1 + rng.below(5));
  }
  ChainSim s(c, byz);
  INFO(describe(s) << "\nreproduce with NITRO_SEED=" << seed);
  // Phase 1: safety under faults.
  std::optional<std::size_t> crashed;
  for (std::uint64_t t = 0; t < 8000; t += 100) {
    s.sim.run_for(100);
    if (rng.percent(40)) s.submit_some(rng);
    if (t == 2000 && rng.percent(50)) {
      std::vector<std::size_t> side;
      for (std::size_t i = 0; i < n; ++i) if (rng.percent(40)) side.push_back(i);
      s.sim.partition(side, rng.percent(50));
    }
    if (t == 4000) s.sim.heal();
    if (t == 3000 && rng.percent(50)) {
      const std::size_t v = rng.below(n);
      if (s.honest(v)) { s.crash(v); crashed = v; }
    }
    if (t == 5000 && crashed) { s.restart(*crashed); crashed.reset(); }
    if (t % 500 == 0) s.sync_disk();
    s.check_safety();
  }
  // Phase 2: heal, then liveness within the bound.
  s.sim.heal();
  s.sim.set_drop_rate(0.0);
  const std::uint64_t before = s.min_honest_height();
  std::uint64_t waited = 0;
  while (s.min_honest_height() < before + 3 && waited < kResumeBoundMs) {
    s.sim.run_for(100);
    waited += 100;
    if (waited % 300 == 0) s.submit_some(rng);
    s.sync_disk();
  }
  s.check_safety();
  INFO("height before " << before << " now " << s.min_honest_height() << " after " << waited << " ms");
  CHECK(s.min_honest_height() >= before + 3);
}

}  // namespace

TEST_CASE("consensus sim: 4 honest validators commit kv txs and agree on state", "[consensus]") {
  for (auto seed : test::test_seeds("consensus-happy", 1)) {
    SimConfig c;
    c.seed = seed;
    c.nodes = 4;
    ChainSim s(c, std::vector<Byzantine>(4, Byzantine::kNone));
    INFO(describe(s) << "\nreproduce with NITRO_SEED=" << seed);
    test::SplitMix rng{seed};
    for (int t = 0; t < 60; ++t) {
      s.sim.run_for(100);
      s.submit_some(rng);
      s.check_safety();
    }
    s.sim.run_for(2000);
    s.check_safety();
    REQUIRE(s.min_honest_height() >= 10);
    // Every submitted put committed: the 20 keys hold the same values on every validator.
    for (int k = 0; k < 20; ++k) {
      const std::string key = "k" + std::to_string(k);
      const auto* e0 = s.chain(0)->get(key);
      for (std::size_t i = 1; i < 4; ++i) {
        const auto* e = s.chain(i)->get(key);
        REQUIRE((e0 == nullptr) == (e == nullptr));
        if (e0) CHECK(e0->value == e->value);
      }
    }
    std::uint64_t txs = 0;
    for (std::uint64_t h = 1; h <= s.chain(0)->committed_height(); ++h) {
      if (auto b = s.chain(0)->committed(h)) txs += b->txs;
    }
    CHECK(txs == s.nonce);
  }
}

TEST_CASE("consensus sim: safety under Byzantine validators and faults then liveness after heal", "[consensus]") {
  for (auto seed : test::test_seeds("consensus-swarm", 200)) run_seed(seed);
}
