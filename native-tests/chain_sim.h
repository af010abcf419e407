// The chain simulation harness shared by the consensus sim tests: validators on real
// nitro::Nodes in the simulator, with the safety check every test runs.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <map>
#include <optional>

#include "nitro/codec.h"
#include "nitro/consensus.h"
#include "nitro/sim.h"
#include "test_util.h"

namespace nitro::test {

using nitro::consensus::Byzantine;
using nitro::consensus::ConsensusConfig;
using nitro::consensus::ConsensusProtocol;
using nitro::sim::SimConfig;
using nitro::sim::Simulator;

constexpr std::uint64_t kStartMs = 3000;         // membership settles first
constexpr std::uint64_t kResumeBoundMs = 12000;  // after healing, every honest validator commits within this

inline const char* byz_name(Byzantine b) {
  switch (b) {
    case Byzantine::kNone: return "none";
    case Byzantine::kEquivocate: return "equivocate";
    case Byzantine::kConflictVotes: return "conflict-votes";
    case Byzantine::kInvalidQc: return "invalid-qc";
    case Byzantine::kGarbage: return "garbage";
    case Byzantine::kWithhold: return "withhold";
    case Byzantine::kBadSnapshot: return "bad-snapshot";
  }
  return "?";
}

struct ChainSim {
  Simulator sim;
  std::vector<consensus::Validator> validators;
  std::vector<bls::SecretKey> sks;
  std::vector<Byzantine> byz;
  std::map<std::uint64_t, Bytes> hash_at;   // height -> the block every honest node committed
  std::map<std::uint64_t, Bytes> root_at;   // height -> the state root after it
  std::uint64_t nonce = 0;
  std::function<void(ConsensusConfig&)> tweak;  // adjusts every validator's config

  // `late`: a node that runs without the chain until attach(late) is called.
  ChainSim(const SimConfig& c, std::vector<Byzantine> b, std::optional<std::size_t> late = std::nullopt,
           std::function<void(ConsensusConfig&)> adjust = {})
      : sim(c), byz(std::move(b)), tweak(std::move(adjust)) {
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
    for (std::size_t i = 0; i < sim.size(); ++i) {
      if (i != late) attach(i);
    }
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
    cfg.empty_block_ms = 400;
    cfg.byzantine = byz[i];
    if (tweak) tweak(cfg);
    auto p = ConsensusProtocol::create(cfg, sim.node(i)->id());
    REQUIRE(p.ok());
    REQUIRE(sim.node(i)->add_protocol(consensus::kDefaultChannel, std::move(*p)).ok());
  }

  ConsensusProtocol* chain(std::size_t i) {
    if (!sim.alive(i)) return nullptr;
    return dynamic_cast<ConsensusProtocol*>(sim.node(i)->protocol(consensus::kDefaultChannel));
  }
  bool honest(std::size_t i) const { return byz[i] == Byzantine::kNone; }

  // The simulator is the host: it drains poll_store into each node's store before transmits, and
  // a restart restores the node (and the chain, through take_restored) from what was durable.
  void crash(std::size_t i) { sim.crash(i); }
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



inline void ChainSim::submit_some(test::SplitMix& rng) {
  const std::size_t i = rng.below(sim.size());
  auto* c = chain(i);
  if (!c) return;
  const std::string key = "k" + std::to_string(rng.below(20));
  const Value args(Map{{Value("key"), Value(key)}, {Value("value"), Value(static_cast<std::int64_t>(++nonce))}});
  sim.with_node(i, [&](Node&) { (void)c->submit("kv.put", args, sim.now_ms()); });
}

inline std::string describe(const ChainSim& s) {
  std::string d = s.sim.describe() + " byzantine:";
  for (std::size_t i = 0; i < s.byz.size(); ++i) {
    if (s.byz[i] != Byzantine::kNone) d += " " + std::to_string(i) + "=" + byz_name(s.byz[i]);
  }
  return d;
}

}  // namespace nitro::test
