// Leader election on the real chain: four validators (nitro::Node + ConsensusProtocol in the
// simulator, seeded network faults, a partition, a crash and restart) each run the "sync" module
// and campaign for one office through signed transactions. A validator leads while its own
// replica's committed state names it holder and the lease's chain-time expiry is still ahead of
// its clock (the simulator's clocks agree, and block time never runs ahead of the proposer's).
// Safety under faults: never two leaders with the same term, nor two at once; every replica that
// saw a term saw the same holder for it. Then heal and require a leader within a stated bound.
#include <catch2/catch.hpp>

#include <cstdio>
#include <map>
#include <optional>
#include <set>

#include "nitro/consensus.h"
#include "nitro/sim.h"
#include "nitro/sync.h"
#include "test_util.h"

using namespace nitro;
using nitro::consensus::ConsensusConfig;
using nitro::consensus::ConsensusProtocol;
using nitro::sim::SimConfig;
using nitro::sim::Simulator;

namespace {

constexpr std::uint64_t kStartMs = 3000;
constexpr std::uint64_t kTtlMs = 3000;
constexpr std::uint64_t kRenewEveryMs = 600;
constexpr std::uint64_t kRetryMs = 2000;
constexpr std::uint64_t kFaultsUntilMs = 14000;
constexpr std::uint64_t kElectBoundMs = 15000;  // heal -> a leader (chain resumes, lease lapses, grant)
const std::string kOffice = "office";

struct Campaigner {
  std::uint64_t ref = 1;       // one per campaign; a restart starts a fresh one
  std::uint64_t last_submit = 0;
  std::uint64_t term = 0;      // the term this node's replica says it holds
};

struct ChainSyncSim {
  Simulator sim;
  std::vector<consensus::Validator> validators;
  std::vector<bls::SecretKey> sks;
  std::vector<Campaigner> campaign;
  std::map<std::uint64_t, PeerId> term_holder;  // every term any replica ever showed, and to whom
  std::size_t terms_led = 0;

  explicit ChainSyncSim(const SimConfig& c) : sim(c), campaign(c.nodes) {
    for (std::size_t i = 0; i < sim.size(); ++i) {
      Bytes ikm(32, static_cast<std::uint8_t>(i + 7));
      for (int k = 0; k < 8; ++k) ikm[k] ^= static_cast<std::uint8_t>(c.seed >> (8 * k));
      sks.push_back(*bls::key_gen(ikm));
      validators.push_back({sim.node(i)->id(), bls::sk_to_pk(sks[i], bls::kMinSigPop.pk_group()), consensus::bls_pop(sks[i])});
    }
    for (std::size_t i = 0; i < sim.size(); ++i) attach(i);
  }

  void attach(std::size_t i) {
    ConsensusConfig cfg;
    cfg.chain_id = "sync-sim";
    cfg.validators = validators;
    cfg.bls_sk = sks[i];
    cfg.identity_seed = sim.node(i)->config().identity_seed;
    cfg.start_ms = std::max(kStartMs, sim.now_ms());
    cfg.timeout_ms = 600;
    cfg.timeout_ms_max = 4800;
    cfg.empty_block_ms = 100;
    auto p = ConsensusProtocol::create(cfg, sim.node(i)->id());
    REQUIRE(p.ok());
    // "sync" is a built-in module of every chain, like "kv".
    REQUIRE((*p)->register_module("sync", sync::make_sync_module()).code() == Code::kAlreadyExists);
    REQUIRE(sim.node(i)->add_protocol(consensus::kDefaultChannel, std::move(*p)).ok());
  }

  ConsensusProtocol* chain(std::size_t i) {
    if (!sim.alive(i)) return nullptr;
    return dynamic_cast<ConsensusProtocol*>(sim.node(i)->protocol(consensus::kDefaultChannel));
  }

  // The simulator keeps each node's durable records itself (drained from poll_store, lost on a
  // crash unless synced) and restores a restarted node from them: nothing to do here.
  void sync_disk() {}

  // The office as node i's replica has committed it.
  std::optional<sync::LockState> office(std::size_t i) {
    auto* c = chain(i);
    if (!c) return std::nullopt;
    const chain::KvEntry* e = c->get(sync::lock_state_key(kOffice));
    if (!e) return sync::LockState{};
    auto lock = sync::decode_lock(e->value);
    REQUIRE(lock.ok());
    return *lock;
  }

  void submit(std::size_t i, const std::string& op, Map args) {
    auto* c = chain(i);
    args.emplace_back(Value("name"), Value(kOffice));
    sim.with_node(i, [&](Node&) { (void)c->submit(op, Value(std::move(args)), sim.now_ms()); });
    campaign[i].last_submit = sim.now_ms();
  }

  // Each live validator: campaign when nobody leads for it, renew while it leads.
  void step_clients() {
    for (std::size_t i = 0; i < sim.size(); ++i) {
      auto lock = office(i);
      if (!lock) continue;
      Campaigner& me = campaign[i];
      const PeerId& id = sim.node(i)->id();
      const bool mine = lock->holder && lock->holder->owner == sync::Owner{id, me.ref};
      me.term = mine && sim.now_ms() < lock->holder->expires_ms ? lock->holder->token : 0;
      const bool queued = std::any_of(lock->waiters.begin(), lock->waiters.end(),
                                      [&](const sync::Waiter& w) { return w.owner == sync::Owner{id, me.ref}; });
      if (mine && sim.now_ms() - me.last_submit >= kRenewEveryMs) {
        submit(i, "sync.renew", Map{{Value("token"), Value(lock->holder->token)}});
      } else if (!mine && !queued && sim.now_ms() - me.last_submit >= kRetryMs) {
        submit(i, "sync.acquire", Map{{Value("ttlMs"), Value(kTtlMs)}, {Value("waitMs"), Value(2 * kTtlMs)},
                                      {Value("ref"), Value(me.ref)}});
      }
    }
  }

  // Returns the leader, if any; fails on two leaders or a term shown with two holders.
  std::optional<std::size_t> check() {
    std::optional<std::size_t> leader;
    for (std::size_t i = 0; i < sim.size(); ++i) {
      auto lock = office(i);
      if (lock && lock->holder) {
        auto [it, fresh] = term_holder.emplace(lock->holder->token, lock->holder->owner.node);
        REQUIRE(it->second == lock->holder->owner.node);
        if (fresh) ++terms_led;
      }
      if (!sim.alive(i) || campaign[i].term == 0) continue;
      REQUIRE_FALSE(leader.has_value());  // one leader at a time, so never two with one term
      leader = i;
      REQUIRE(term_holder.at(campaign[i].term) == sim.node(i)->id());
    }
    return leader;
  }
};

void run_seed(std::uint64_t seed) {
  test::SplitMix rng{seed};
  SimConfig c = SimConfig::swarm(seed, 4);
  ChainSyncSim s(c);
  INFO(s.sim.describe() << "\nreproduce with NITRO_SEED=" << seed);
  std::optional<std::size_t> crashed;
  for (std::uint64_t t = 0; t < kFaultsUntilMs; t += 100) {
    s.sim.run_for(100);
    if (t == 5000) {
      std::vector<std::size_t> side;
      for (std::size_t i = 0; i < 4; ++i) if (rng.percent(40)) side.push_back(i);
      s.sim.partition(side, rng.percent(50));
    }
    if (t == 8000) s.sim.heal();
    if (t == 9000 && rng.percent(60)) {  // often the leader: its lease must lapse on chain time
      const std::size_t v = s.check().value_or(rng.below(4));
      s.sync_disk();
      s.sim.crash(v);
      crashed = v;
    }
    if (t == 12000 && crashed) {
      s.sim.restart(*crashed);
      s.attach(*crashed);
      s.campaign[*crashed] = Campaigner{s.campaign[*crashed].ref + 1};
    }
    s.sync_disk();
    s.step_clients();
    s.check();
  }
  s.sim.heal();
  s.sim.set_drop_rate(0.0);
  const std::uint64_t healed = s.sim.now_ms();
  std::optional<std::size_t> leader;
  while (!leader && s.sim.now_ms() < healed + kElectBoundMs) {
    s.sim.run_for(100);
    s.sync_disk();
    s.step_clients();
    leader = s.check();
  }
  INFO("no leader " << (s.sim.now_ms() - healed) << " ms after healing");
  REQUIRE(leader.has_value());
  REQUIRE(s.terms_led >= 1);
  std::printf("sync chain sim seed %llu: %zu terms, leader %zu ms after healing\n",
              static_cast<unsigned long long>(seed), s.terms_led, static_cast<std::size_t>(s.sim.now_ms() - healed));
}

}  // namespace

TEST_CASE("sync on the chain: leader election under partitions, one leader per term", "[sync][chain]") {
  for (auto seed : test::test_seeds("sync-chain-sim", 6)) run_seed(seed);
}
