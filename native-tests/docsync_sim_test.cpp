// crdt::DocSync in the simulator: the composition createNode runs (one DocSync on channel
// "doc.sync" per node, default timers), many seeds, loss, duplication, reordering, partitions and
// crash/restart from what the simulated host made durable (its store is fed only from
// poll_store(), unsynced batches are lost or torn by a crash, restart goes through
// Node::restore(config, records), and the restarted node's DocSync reads its records from there).
//
// Oracle: an independent model of the acknowledged edits — every edit writes a unique map key
// (later maybe erased by its author), a counter increment and a unique text token. Acknowledged =
// its records are durable (the edit call returned and the store synced, as replica.flush() resolves
// in JS). Safety under faults: a replica
// never shows a value nobody wrote, and a restarted replica holds all of its own acknowledged edits
// before it hears from anyone. Liveness after healing: every replica shows exactly the model
// within kConvergeBoundMs of virtual time.
#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "nitro/docsync.h"
#include "nitro/sim.h"
#include "test_util.h"

namespace {

using nitro::Bytes;
using nitro::Value;
namespace crdt = nitro::crdt;

constexpr const char* kDoc = "board";
constexpr std::size_t kNodes = 6;
constexpr std::uint64_t kFaultPhaseMs = 20000;
constexpr std::uint64_t kConvergeBoundMs = 30000;  // ~10 anti-entropy periods of the default 3 s

struct Model {  // the acknowledged edits
  std::map<std::string, std::int64_t> map;     // live keys
  std::set<std::string> ever;                   // every key ever written
  std::int64_t counter = 0;
  std::set<std::string> tokens;
  std::map<std::size_t, std::vector<std::string>> keys_of;  // per node, for erasing its own keys
};

struct Member {
  std::unique_ptr<crdt::Doc> doc;
  crdt::DocSync* sync = nullptr;
  std::uint64_t incarnation = 0;
};

class Harness {
 public:
  explicit Harness(std::uint64_t seed) : seed_(seed), rng_{seed ^ 0xd0c5} {
    auto cfg = nitro::sim::SimConfig::swarm(seed, kNodes);
    sim_ = std::make_unique<nitro::sim::Simulator>(cfg);
    members_.resize(kNodes);
    for (std::size_t i = 0; i < kNodes; ++i) attach(i);
  }

  nitro::sim::Simulator& sim() { return *sim_; }
  nitro::test::SplitMix& rng() { return rng_; }
  Model& model() { return model_; }
  Member& member(std::size_t i) { return members_[i]; }

  // A fresh Doc (a new client id per incarnation), a DocSync, and the document opened from the
  // records the node was restored with: what a restarted host does.
  void attach(std::size_t i) {
    Member& m = members_[i];
    const crdt::ClientId client = (nitro::test::fnv1a(std::to_string(seed_) + "/" + std::to_string(i) + "/" +
                                                      std::to_string(m.incarnation)) & crdt::kClientIdMax) | 1;
    m.doc = std::make_unique<crdt::Doc>(client);
    sim_->with_node(i, [&](nitro::Node& node) {
      auto sync = crdt::DocSync::create();
      REQUIRE(sync.ok());
      m.sync = sync->get();
      REQUIRE(node.add_protocol(crdt::DocSync::kChannel, std::move(*sync)).ok());
      crdt::DocSync* s = m.sync;
      m.doc->set_update_handler([s](std::span<const std::uint8_t> u, std::uint64_t origin) {
        if (origin == 0) REQUIRE(s->local_update(kDoc, u).ok());
      });
      crdt::SyncOptions options;
      options.persist = true;
      REQUIRE(m.sync->open(kDoc, *m.doc, options).ok());
    });
  }

  // One acknowledged edit on node i: a map key, a counter increment, a text token, sometimes the
  // erasure of one of its earlier keys.
  void edit(std::size_t i) {
    Member& m = members_[i];
    const std::string key = "n" + std::to_string(i) + "." + std::to_string(++edits_);
    const std::string token = "<" + key + ">";
    const auto value = static_cast<std::int64_t>(rng_.below(1000));
    std::string erase;
    auto& mine = model_.keys_of[i];
    if (!mine.empty() && rng_.percent(30)) {
      const std::size_t k = rng_.below(mine.size());
      erase = mine[k];
      mine.erase(mine.begin() + static_cast<std::ptrdiff_t>(k));
    }
    sim_->with_node(i, [&](nitro::Node&) {
      m.doc->transact([&] {
        REQUIRE(m.doc->get_map("m").set(key, Value{value}).ok());
        if (!erase.empty()) REQUIRE(m.doc->get_map("m").erase(erase).ok());
        REQUIRE(m.doc->get_counter("c").increment(1).ok());
        auto text = m.doc->get_text("t");
        REQUIRE(text.insert(rng_.percent(50) ? 0 : text.length(), token).ok());
      });
    });
    sim_->run_for(sim_->config().storage_sync_ms + 1);  // durable: acknowledged
    model_.map[key] = value;
    model_.ever.insert(key);
    if (!erase.empty()) model_.map.erase(erase);
    model_.counter += 1;
    model_.tokens.insert(token);
    mine.push_back(key);
  }

  // A crash loses what the store had not synced (the simulator tears or drops those batches).
  void crash(std::size_t i) {
    sim_->crash(i);
    members_[i].sync = nullptr;
    members_[i].incarnation++;
  }

  void restart(std::size_t i) {
    sim_->restart(i);
    REQUIRE(sim_->alive(i));
    attach(i);
    check_own_edits(i);
  }

  // Safety: nothing shown that nobody wrote, values as written.
  void check_safety(std::size_t i) {
    const crdt::Doc& d = *members_[i].doc;
    auto map = const_cast<crdt::Doc&>(d).get_map("m");
    for (const auto& k : map.keys()) {
      INFO("node " << i << " key " << k);
      REQUIRE(model_.ever.count(k) == 1);
      const Value* v = map.get(k);
      REQUIRE(v != nullptr);
      if (model_.map.count(k)) REQUIRE(*v == Value{model_.map.at(k)});
    }
    REQUIRE(const_cast<crdt::Doc&>(d).get_counter("c").value() <= model_.counter);
  }

  // Durability: right after a restart, before any peer answered, the replica holds every edit
  // this node made (keys it set and did not erase).
  void check_own_edits(std::size_t i) {
    auto map = members_[i].doc->get_map("m");
    for (const auto& k : model_.keys_of[i]) {
      INFO("restarted node " << i << " lost its acknowledged key " << k);
      REQUIRE(map.get(k) != nullptr);
    }
  }

  // Does replica i show exactly the model?
  bool matches_model(std::size_t i) {
    crdt::Doc& d = *members_[i].doc;
    auto map = d.get_map("m");
    if (map.keys().size() != model_.map.size()) return false;
    for (const auto& [k, v] : model_.map) {
      const Value* got = map.get(k);
      if (!got || !(*got == Value{v})) return false;
    }
    if (d.get_counter("c").value() != model_.counter) return false;
    const std::string text = d.get_text("t").to_string();
    std::size_t total = 0;
    for (const auto& t : model_.tokens) {
      if (text.find(t) == std::string::npos) return false;
      total += t.size();
    }
    return text.size() == total;
  }

  bool converged() {
    std::string first;
    for (std::size_t i = 0; i < kNodes; ++i) {
      if (!sim_->alive(i) || !matches_model(i)) return false;
      const std::string text = members_[i].doc->get_text("t").to_string();
      if (i == 0) first = text;
      if (text != first) return false;  // the same order of tokens everywhere
    }
    return true;
  }

 private:
  std::uint64_t seed_;
  nitro::test::SplitMix rng_;
  std::unique_ptr<nitro::sim::Simulator> sim_;
  std::vector<Member> members_;
  Model model_;
  std::uint64_t edits_ = 0;
};

std::vector<std::size_t> live(nitro::sim::Simulator& sim) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < sim.size(); ++i) {
    if (sim.alive(i)) out.push_back(i);
  }
  return out;
}

void fault_phase(Harness& h) {
  auto& sim = h.sim();
  auto& rng = h.rng();
  const std::uint64_t end = sim.now_ms() + kFaultPhaseMs;
  while (sim.now_ms() < end) {
    sim.run_for(50 + rng.below(200));
    auto up = live(sim);
    const auto roll = rng.below(100);
    if (roll < 60 && !up.empty()) {
      h.edit(up[rng.below(up.size())]);
    } else if (roll < 64 && up.size() > kNodes - 2) {
      h.crash(up[rng.below(up.size())]);
    } else if (roll < 72 && up.size() < kNodes) {
      for (std::size_t i = 0; i < kNodes; ++i) {
        if (!sim.alive(i)) {
          h.restart(i);
          break;
        }
      }
    } else if (roll < 75) {
      std::vector<std::size_t> side;
      for (std::size_t i = 0; i < kNodes; ++i) {
        if (rng.percent(50)) side.push_back(i);
      }
      sim.partition(side, rng.percent(70));
    } else if (roll < 80) {
      sim.heal();
    }
    for (auto i : live(sim)) h.check_safety(i);
  }
}

}  // namespace

TEST_CASE("docsync sim: replicas converge to every acknowledged edit after faults heal", "[docsync][sim]") {
  // 2717718521283643: a compaction dropped an update still waiting for its dependency.
  // 8484533203653834: equal state vectors ended the exchange, so a replica that missed a deletion
  // kept the erased key forever (vectors count insertions only).
  for (std::uint64_t seed : nitro::test::test_seeds("docsync-sim", 12, {2717718521283643, 8484533203653834})) {
    Harness h(seed);
    INFO(h.sim().describe() << " -- reproduce with NITRO_SEED=" << seed);
    h.sim().run_for(3000);  // nodes start and join
    fault_phase(h);

    // Heal: partitions end, crashed nodes restart from their durable records.
    h.sim().heal();
    for (std::size_t i = 0; i < kNodes; ++i) {
      if (!h.sim().alive(i)) h.restart(i);
    }
    const std::uint64_t healed = h.sim().now_ms();
    while (!h.converged() && h.sim().now_ms() - healed < kConvergeBoundMs) {
      h.sim().run_for(250);
    }
    INFO("edits acknowledged: " << h.model().ever.size() << ", converged after "
                                << (h.sim().now_ms() - healed) << " ms of virtual time");
    REQUIRE(h.converged());
  }
}

TEST_CASE("docsync sim: a node's edits survive any number of crashes without peers", "[docsync][sim]") {
  for (std::uint64_t seed : nitro::test::test_seeds("docsync-alone", 8)) {
    INFO("reproduce with NITRO_SEED=" << seed);
    Harness h(seed);
    h.sim().run_for(3000);
    for (int round = 0; round < 12; ++round) {
      for (int k = 0; k < 10; ++k) h.edit(2);
      // Everyone else is gone: node 2 can only recover from its own records.
      for (std::size_t i = 0; i < kNodes; ++i) {
        if (h.sim().alive(i)) h.crash(i);
      }
      h.restart(2);  // check_own_edits runs inside
      h.sim().run_for(500);
    }
    // 120 edits: compaction replaced the log by a snapshot (at least once) and lost nothing.
    std::size_t log_keys = 0, snapshots = 0;
    for (const auto& [k, v] : h.sim().stored(2)) {
      if (k.rfind(std::string(crdt::DocSync::kChannel) + "/", 0) != 0) continue;  // the node's own records
      log_keys += k.find("/u/") != std::string::npos;
      snapshots += k.size() >= 2 && k.compare(k.size() - 2, 2, "/s") == 0;
    }
    REQUIRE(snapshots == 1);
    REQUIRE(log_keys < crdt::SyncOptions{}.compact_every);
  }
}
