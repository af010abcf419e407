// Simulator tests for the BFT chain on real nitro::Nodes (secure links, seeded network faults):
// safety (no two honest validators commit different blocks or reach different state roots at a
// height) with f Byzantine validators, partitions, loss, duplication, reordering and a
// crash/restart from persisted records; then heal and require commits to resume within a stated
// bound of virtual time. Every failure names its seed: rerun with NITRO_SEED=<n>.
#include <catch2/catch.hpp>

#include <set>

#include "chain_sim.h"

using namespace nitro;
using namespace nitro::test;

namespace {

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
  }
  s.check_safety();
  INFO("height before " << before << " now " << s.min_honest_height() << " after " << waited << " ms");
  CHECK(s.min_honest_height() >= before + 3);
  if (std::getenv("CONSENSUS_DEBUG")) {
    for (std::size_t i = 0; i < n; ++i) {
      if (auto* ch = s.chain(i)) {
        const auto& st = ch->stats();
        std::printf("node %zu byz=%s h=%llu view=%llu in=%llu out=%llu prop=%llu votes=%llu qcs=%llu tcs=%llu to=%llu rej=%llu bad=%llu inv=%llu\n", i, byz_name(s.byz[i]),
          (unsigned long long)ch->committed_height(), (unsigned long long)ch->view(), (unsigned long long)st.frames_in, (unsigned long long)st.frames_out,
          (unsigned long long)st.proposals, (unsigned long long)st.votes_sent, (unsigned long long)st.qcs_formed, (unsigned long long)st.tcs_formed,
          (unsigned long long)st.timeouts, (unsigned long long)st.rejected_proposals, (unsigned long long)st.bad_frames, (unsigned long long)st.invalid_sigs);
      }
    }
    std::printf("virtual %llu ms\n", (unsigned long long)s.sim.now_ms());
  }
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

// 200 seeds per commit, in four cases so ctest can spread them over cores. A long run sets
// NITRO_CONSENSUS_SEEDS (e.g. 10000) and runs the same cases.
void run_part(std::size_t part) {
  const char* env = std::getenv("NITRO_CONSENSUS_SEEDS");
  const std::size_t count = env && *env ? std::strtoull(env, nullptr, 10) : 200;
  const auto seeds = test::test_seeds("consensus-swarm", count);
  for (std::size_t i = 0; i < seeds.size(); ++i) {
    if (seeds.size() == 1 || i % 4 == part) run_seed(seeds[i]);
  }
}

TEST_CASE("consensus sim: Byzantine validators and faults keep safety and heal to liveness (seeds part 1)", "[consensus]") {
  run_part(0);
}
TEST_CASE("consensus sim: Byzantine validators and faults keep safety and heal to liveness (seeds part 2)", "[consensus]") {
  if (!test::replay_seed()) run_part(1);
}
TEST_CASE("consensus sim: Byzantine validators and faults keep safety and heal to liveness (seeds part 3)", "[consensus]") {
  if (!test::replay_seed()) run_part(2);
}
TEST_CASE("consensus sim: Byzantine validators and faults keep safety and heal to liveness (seeds part 4)", "[consensus]") {
  if (!test::replay_seed()) run_part(3);
}

namespace {

ChainSim happy_chain(std::uint64_t seed) {
  SimConfig c;
  c.seed = seed;
  c.nodes = 4;
  return ChainSim(c, std::vector<Byzantine>(4, Byzantine::kNone));
}

// Fast blocks and frequent snapshots, for the state sync and pruning tests.
ChainSim snapshot_chain(std::uint64_t seed, std::uint64_t interval, std::optional<std::size_t> late = std::nullopt) {
  SimConfig c;
  c.seed = seed;
  c.nodes = 4;
  return ChainSim(c, std::vector<Byzantine>(4, Byzantine::kNone), late, [interval](ConsensusConfig& cfg) {
    cfg.snapshot_interval = interval;
    cfg.empty_block_ms = 20;
  });
}

// The validator a state-syncing node `who` asks first: the next one in index (id) order.
std::size_t asked_first(ChainSim& s, std::size_t who) {
  std::vector<PeerId> ids;
  for (std::size_t i = 0; i < s.sim.size(); ++i) ids.push_back(s.sim.node(i)->id());
  std::vector<PeerId> order = ids;
  std::sort(order.begin(), order.end());
  const auto pos = static_cast<std::size_t>(std::find(order.begin(), order.end(), ids[who]) - order.begin());
  return static_cast<std::size_t>(std::find(ids.begin(), ids.end(), order[(pos + 1) % ids.size()]) - ids.begin());
}

void put(ChainSim& s, std::size_t i, const std::string& key, Value v) {
  const Value args(Map{{Value("key"), Value(key)}, {Value("value"), std::move(v)}});
  s.sim.with_node(i, [&](Node&) { REQUIRE(s.chain(i)->submit("kv.put", args, s.sim.now_ms()).ok()); });
}

}  // namespace

TEST_CASE("consensus sim: a light client verifies a committed value against the validator set alone", "[consensus]") {
  for (auto seed : test::test_seeds("consensus-light", 1)) {
    INFO("reproduce with NITRO_SEED=" << seed);
    ChainSim s = happy_chain(seed);
    s.sim.run_until(kStartMs + 1000);
    put(s, 1, "greeting", Value("hello"));
    Result<Bytes> proof = Status(unavailable("not yet"));
    for (int i = 0; i < 100 && !(proof.ok() && s.chain(0)->get("greeting")); ++i) {
      s.sim.run_for(100);
      proof = s.chain(0)->read_proof("greeting");
    }
    REQUIRE(proof.ok());
    auto r = consensus::verify_read("sim", s.validators, *proof);
    REQUIRE(r.ok());
    CHECK(r->key == "greeting");
    CHECK(r->read.found);
    CHECK(r->read.value == Value("hello"));
    auto absent = s.chain(0)->read_proof("nobody");
    REQUIRE(absent.ok());
    auto ra = consensus::verify_read("sim", s.validators, *absent);
    REQUIRE(ra.ok());
    CHECK_FALSE(ra->read.found);
    // Another chain id, or any flipped byte, never yields a different verified answer.
    CHECK_FALSE(consensus::verify_read("other", s.validators, *proof).ok());
    for (std::size_t pos = 0; pos < proof->size(); pos += 3) {
      Bytes t = *proof;
      t[pos] ^= 0x5a;
      auto rt = consensus::verify_read("sim", s.validators, t);
      if (rt.ok()) CHECK((rt->key == "greeting" && rt->read.value == Value("hello")));
    }
  }
}

// A module that is not deterministic (its output depends on the node) diverges the state: the
// odd node out halts with an error naming the height; the other three carry on.
TEST_CASE("consensus sim: a divergent state root halts that node and names the height", "[consensus]") {
  class Skewed final : public chain::BuiltinModule {
   public:
    explicit Skewed(int v) : v_(v) {}
    Result<Value> apply(chain::KvState& st, const std::string&, const Value&, const chain::TxContext&) override {
      NITRO_TRY(st.put("skew", Value(v_)));
      return Value();
    }
   private:
    int v_;
  };
  for (auto seed : test::test_seeds("consensus-diverge", 1)) {
    INFO("reproduce with NITRO_SEED=" << seed);
    ChainSim s = happy_chain(seed);
    for (std::size_t i = 0; i < 4; ++i) REQUIRE(s.chain(i)->register_module("skew", std::make_shared<Skewed>(i == 3)).ok());
    s.sim.run_until(kStartMs + 1000);
    s.sim.with_node(0, [&](Node&) { REQUIRE(s.chain(0)->submit("skew.set", Value(), s.sim.now_ms()).ok()); });
    s.sim.run_for(5000);
    auto halted = s.chain(3)->halted();
    REQUIRE(halted.has_value());
    const std::uint64_t h = s.chain(0)->committed_height();
    INFO(*halted);
    CHECK(halted->find("chain halted at height ") == 0);
    const std::uint64_t before = h;
    put(s, 1, "after", Value(1));
    s.sim.run_for(3000);
    for (std::size_t i = 0; i < 3; ++i) {
      CHECK_FALSE(s.chain(i)->halted().has_value());
      CHECK(s.chain(i)->committed_height() > before);
      CHECK(s.chain(i)->get("after") != nullptr);
    }
  }
}

TEST_CASE("consensus sim: a validator restarted from its persisted records replays and catches up", "[consensus]") {
  for (auto seed : test::test_seeds("consensus-restart", 1)) {
    INFO("reproduce with NITRO_SEED=" << seed);
    ChainSim s = happy_chain(seed);
    test::SplitMix rng{seed};
    for (int t = 0; t < 40; ++t) {
      s.sim.run_for(100);
      s.submit_some(rng);
    }
    s.sim.run_for(1000);
    const std::uint64_t at_crash = s.chain(2)->committed_height();
    REQUIRE(at_crash >= 5);
    s.crash(2);
    for (int t = 0; t < 30; ++t) {
      s.sim.run_for(100);
      s.submit_some(rng);
    }
    s.restart(2);
    // Replayed from its store before any message (a commit in the last storage-sync window may be lost).
    CHECK(s.chain(2)->committed_height() + 1 >= at_crash);
    CHECK(s.chain(2)->committed_height() <= at_crash);
    s.sim.run_for(4000);
    s.check_safety();
    CHECK(s.chain(2)->committed_height() + 3 >= s.chain(0)->committed_height());
    CHECK(s.chain(2)->state_root() == s.chain(0)->state_root());
  }
}

TEST_CASE("consensus sim: a validator without chain records catches up a long chain by block sync", "[consensus]") {
  for (auto seed : test::test_seeds("consensus-blocksync", 1)) {
    INFO("reproduce with NITRO_SEED=" << seed);
    SimConfig c;
    c.seed = seed;
    c.nodes = 4;
    ChainSim s(c, std::vector<Byzantine>(4, Byzantine::kNone), 1);  // node 1 joins the chain late
    test::SplitMix rng{seed};
    s.sim.run_until(kStartMs + 500);
    for (int t = 0; t < 400; ++t) {  // 40 s: well over one fetch (64 blocks) of history
      s.sim.run_for(100);
      if (t % 4 == 0) s.submit_some(rng);
    }
    const std::uint64_t top = s.chain(0)->committed_height();
    INFO("chain height " << top);
    REQUIRE(top > 2 * 64);
    s.attach(1);  // no records: it recovers from peers alone
    s.sim.run_for(8000);
    s.check_safety();
    CHECK(s.chain(1)->committed_height() >= top);
    CHECK(s.chain(1)->state_root() == s.chain(0)->state_root());
  }
}

// A validator down for longer than block sync bridges (its peers keep no stash that deep) comes
// back from its disk, fetches a snapshot of the state certified by a QC'd header, installs it and
// block-syncs the rest. The first validator it asks serves a forged value: the entries do not hash
// to the certified root, and it asks the next one. Restarted again, it resumes from the installed
// snapshot on its disk.
TEST_CASE("consensus sim: a validator far behind catches up by state sync past a peer serving a bad snapshot", "[consensus]") {
  constexpr std::uint64_t kGap = 300;              // heights missed: more than kSyncGapMax (192)
  constexpr std::uint64_t kCatchUpBoundMs = 15000;  // after restart, back at the chain's height
  for (auto seed : test::test_seeds("consensus-statesync", 1)) {
    INFO("reproduce with NITRO_SEED=" << seed);
    ChainSim s = snapshot_chain(seed, 32);
    // Node 3 asks the validators in index order (by id) after its own: the first one forges.
    const std::size_t forger = asked_first(s, 3);
    const std::size_t ref = forger == 0 ? 1 : 0;  // an honest reference
    s.byz[forger] = Byzantine::kBadSnapshot;
    s.crash(forger);
    s.restart(forger);
    test::SplitMix rng{seed};
    s.sim.run_until(kStartMs + 500);
    // Enough keys for more than one chunk (1024 entries each).
    for (int round = 0; round < 3; ++round) {
      s.sim.with_node(round, [&](Node&) {
        for (int k = 0; k < 600; ++k) {
          const Value args(Map{{Value("key"), Value("bulk/" + std::to_string(round) + "/" + std::to_string(k))}, {Value("value"), Value(std::int64_t{k})}});
          REQUIRE(s.chain(round)->submit("kv.put", args, s.sim.now_ms()).ok());
        }
      });
      s.sim.run_for(500);
    }
    s.sim.run_for(2000);
    REQUIRE(s.chain(3)->get("bulk/2/599") != nullptr);
    s.crash(3);
    const std::uint64_t at_crash = s.min_honest_height();
    std::uint64_t waited = 0;
    while (s.chain(ref)->committed_height() < at_crash + kGap && waited < 600000) {
      s.sim.run_for(500);
      waited += 500;
      s.submit_some(rng);
      s.check_safety();
    }
    REQUIRE(s.chain(ref)->committed_height() >= at_crash + kGap);
    s.restart(3);
    const std::uint64_t from_disk = s.chain(3)->committed_height();
    CHECK(from_disk + 1 >= at_crash);
    const std::uint64_t target = s.chain(ref)->committed_height();
    waited = 0;
    while (s.chain(3)->committed_height() < target && waited < kCatchUpBoundMs) {
      s.sim.run_for(100);
      waited += 100;
    }
    INFO("node 3 at " << s.chain(3)->committed_height() << " of " << target << " after " << waited << " ms");
    REQUIRE(s.chain(3)->committed_height() >= target);
    s.check_safety();
    const auto& st = s.chain(3)->stats();
    INFO("served by the forger " << s.chain(forger)->stats().snapshots_served << ", installed " << st.snapshots_installed);
    CHECK(st.snapshots_installed >= 1);
    CHECK(st.snapshots_rejected >= 1);
    CHECK(s.chain(3)->get("bulk/0/0") != nullptr);
    // Its state matches at a height every validator has committed.
    s.sim.run_for(1000);
    const std::uint64_t h = std::min(s.chain(3)->committed_height(), s.chain(ref)->committed_height());
    REQUIRE(s.chain(3)->committed(h).has_value());
    CHECK(s.chain(3)->committed(h)->state_root == s.chain(ref)->committed(h)->state_root);
    // From its disk: the installed snapshot and the blocks after it, before any message.
    const std::uint64_t before = s.chain(3)->committed_height();
    s.crash(3);
    s.restart(3);
    CHECK(s.chain(3)->committed_height() > at_crash + 192);
    CHECK(s.chain(3)->committed_height() <= before);
    waited = 0;
    while (s.chain(3)->committed_height() + 3 < s.chain(ref)->committed_height() && waited < kCatchUpBoundMs) {
      s.sim.run_for(100);
      waited += 100;
    }
    s.check_safety();
    CHECK(s.chain(3)->committed_height() + 3 >= s.chain(ref)->committed_height());
  }
}

// Block records on disk are pruned under the latest certified snapshot (its "snap" record takes
// their place): over a long run the store stays bounded, and a validator restarted from it
// resumes from the snapshot and the records above it, then catches up.
TEST_CASE("consensus sim: block records are pruned under snapshots and a restarted validator still catches up", "[consensus]") {
  constexpr std::uint64_t kInterval = 32;
  // Kept: kSyncGapMax (192) heights under the newest certified snapshot (what block sync may be
  // asked for), the heights above it up to the next one (an interval), and a few heights while
  // a new snapshot waits for its certifying QC.
  constexpr std::size_t kRecordsMax = 192 + 2 * kInterval + 16;
  constexpr std::uint64_t kCatchUpBoundMs = 15000;
  for (auto seed : test::test_seeds("consensus-prune", 1)) {
    INFO("reproduce with NITRO_SEED=" << seed);
    ChainSim s = snapshot_chain(seed, kInterval);
    test::SplitMix rng{seed};
    auto records = [&](std::size_t i) {
      std::size_t n = 0;
      const auto& st = s.sim.stored(i);
      for (auto it = st.lower_bound("chain/b/"); it != st.end() && it->first.starts_with("chain/b/"); ++it) ++n;
      return n;
    };
    std::size_t most = 0;
    std::uint64_t waited = 0;
    while (s.chain(0)->committed_height() < 800 && waited < 600000) {
      s.sim.run_for(500);
      waited += 500;
      s.submit_some(rng);
      for (std::size_t i = 0; i < 4; ++i) most = std::max(most, records(i));
    }
    s.check_safety();
    INFO("height " << s.chain(0)->committed_height() << ", most block records on one node " << most);
    REQUIRE(s.chain(0)->committed_height() >= 800);
    CHECK(most <= kRecordsMax);
    CHECK(s.sim.stored(2).count("chain/snap") == 1);
    // Down for 100 heights (within block sync's reach), then back from its disk alone.
    s.crash(2);
    const std::uint64_t at_crash = s.chain(0)->committed_height();
    waited = 0;
    while (s.chain(0)->committed_height() < at_crash + 100 && waited < 60000) {
      s.sim.run_for(500);
      waited += 500;
      s.submit_some(rng);
    }
    s.restart(2);
    const std::uint64_t target = s.chain(0)->committed_height();
    CHECK(s.chain(2)->committed_height() + 4 >= at_crash);  // a commit not yet durable may be lost
    waited = 0;
    while (s.chain(2)->committed_height() < target && waited < kCatchUpBoundMs) {
      s.sim.run_for(100);
      waited += 100;
    }
    INFO("node 2 at " << s.chain(2)->committed_height() << " of " << target << " after " << waited << " ms");
    REQUIRE(s.chain(2)->committed_height() >= target);
    s.check_safety();
    s.sim.run_for(1000);
    const std::uint64_t h = std::min(s.chain(2)->committed_height(), s.chain(0)->committed_height());
    REQUIRE(s.chain(2)->committed(h).has_value());
    CHECK(s.chain(2)->committed(h)->state_root == s.chain(0)->committed(h)->state_root);
    CHECK(records(2) <= kRecordsMax);
  }
}

// A restarted validator serves the snapshot on its disk at once: "snap" keeps the QC that
// certifies it. A validator that joins far behind asks the restarted one first (index order after
// its own), and must be served before the restarted one could have certified a newer snapshot.
TEST_CASE("consensus sim: a restarted validator serves its stored snapshot to a far-behind one at once", "[consensus]") {
  constexpr std::uint64_t kInterval = 100;
  constexpr std::uint64_t kCatchUpBoundMs = 15000;
  for (auto seed : test::test_seeds("consensus-snapserve", 1)) {
    INFO("reproduce with NITRO_SEED=" << seed);
    const std::size_t late = 3;
    ChainSim s = snapshot_chain(seed, kInterval, late);
    const std::size_t first_asked = asked_first(s, late);
    const std::size_t ref = first_asked == 0 ? 1 : 0;
    test::SplitMix rng{seed};
    std::uint64_t waited = 0;
    while (s.chain(ref)->committed_height() < 2 * kInterval + 30 && waited < 600000) {
      s.sim.run_for(500);
      waited += 500;
      s.submit_some(rng);
    }
    REQUIRE(s.sim.stored(first_asked).count("chain/snap") == 1);
    auto snap = codec::decode(s.sim.stored(first_asked).at("chain/snap"));
    REQUIRE((snap.ok() && snap->is<Array>() && snap->as<Array>()[0].is<std::int64_t>()));
    const auto snap_height = static_cast<std::uint64_t>(snap->as<Array>()[0].as<std::int64_t>());
    INFO("stored snapshot at height " << snap_height);
    s.crash(first_asked);
    s.restart(first_asked);
    s.attach(late);
    const std::uint64_t target = s.chain(ref)->committed_height();
    std::optional<std::uint64_t> served_at;  // the restarted validator's height when it first served
    waited = 0;
    while (s.chain(late)->committed_height() < target && waited < kCatchUpBoundMs) {
      s.sim.run_for(100);
      waited += 100;
      if (!served_at && s.chain(first_asked)->stats().snapshots_served > 0) served_at = s.chain(first_asked)->committed_height();
    }
    INFO("late node at " << s.chain(late)->committed_height() << " of " << target << " after " << waited << " ms");
    REQUIRE(s.chain(late)->committed_height() >= target);
    s.check_safety();
    CHECK(s.chain(late)->stats().snapshots_installed >= 1);
    REQUIRE(served_at.has_value());
    CHECK(*served_at < snap_height + kInterval);  // before it took (let alone certified) a newer one
    s.sim.run_for(1000);
    const std::uint64_t h = std::min(s.chain(late)->committed_height(), s.chain(ref)->committed_height());
    REQUIRE(s.chain(late)->committed(h).has_value());
    CHECK(s.chain(late)->committed(h)->state_root == s.chain(ref)->committed(h)->state_root);
  }
}
