// RPC on real nodes in the deterministic simulator: secure links, gossip membership, service
// discovery by gossiped advertisements, and a network that drops, duplicates, reorders and
// partitions. Safety with faults on (no response to the wrong call, non-idempotent calls run at
// most once), then liveness after healing (every call ends, most succeed). Failures print
// "seed=N" with the fault mix; the same seed replays exactly.
#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "nitro/rpc_node.h"
#include "nitro/sim.h"

using namespace nitro;
using namespace nitro::rpc;
using nitro::sim::SimConfig;
using nitro::sim::Simulator;

namespace {

constexpr std::size_t kNodes = 6;
constexpr std::size_t kServers = 3;  // nodes 0..2 serve "bank"; 3..5 call it

struct Call {
  std::string token;
  bool idempotent = false;
  int done = 0;
  bool ok = false;
};

struct World {
  std::uint64_t seed;
  Simulator sim;
  std::vector<NodeRpc*> rpc;
  std::map<std::string, int> runs;                          // token -> handler executions
  std::map<std::pair<std::size_t, CallHandle>, Call> calls;  // (client node, handle)
  std::uint64_t x;

  static SimConfig config(std::uint64_t seed) {
    SimConfig c = SimConfig::swarm(seed, kNodes);
    c.drop_rate = std::max(c.drop_rate, 0.02);
    c.duplicate_rate = std::max(c.duplicate_rate, 0.02);
    c.reorder_rate = std::max(c.reorder_rate, 0.05);
    return c;
  }

  explicit World(std::uint64_t s) : seed(s), sim(config(s)), x(s * 7919) {
    for (std::size_t i = 0; i < kNodes; ++i) {
      NodeRpcConfig rc;
      rc.engine.retransmit_ms = 300;
      auto p = std::make_unique<NodeRpc>(rc);
      NodeRpc* raw = p.get();
      REQUIRE(sim.node(i)->add_protocol(kNodeChannel, std::move(p)).ok());
      rpc.push_back(raw);
      if (i < kServers) {
        raw->serve("bank");
        REQUIRE(raw->engine().register_method("Bank.Transfer", StreamKind::kUnary).ok());
        REQUIRE(raw->engine().register_method("Bank.Balance", StreamKind::kUnary).ok());
      }
    }
  }

  std::uint64_t rand() {
    x += 0x9e3779b97f4a7c15ull;
    std::uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }

  void start_call(std::size_t client, int n) {
    CallOptions o;
    o.service = "bank";
    o.timeout_ms = 4000 + static_cast<std::int64_t>(rand() % 4000);
    o.strategy = static_cast<Strategy>(rand() % 3);
    o.hash_key = "acct-" + std::to_string(rand() % 7);
    bool idempotent = rand() % 2 == 0;
    o.method = idempotent ? "Bank.Balance" : "Bank.Transfer";
    o.idempotent = idempotent;
    if (idempotent) {
      o.retries = 2;
      o.attempt_timeout_ms = 1500;
    }
    std::string token = std::to_string(client) + ":" + std::to_string(n);
    o.payload = Bytes(token.begin(), token.end());
    auto h = rpc[client]->engine().start_call(o, static_cast<std::int64_t>(sim.now_ms()));
    if (!h.ok()) return;  // no instance discovered yet: UNAVAILABLE, nothing started
    calls[{client, *h}] = Call{token, idempotent};
  }

  // The hosts' side: run handlers (answer at once) and collect results.
  void serve_and_collect() {
    for (std::size_t i = 0; i < kNodes; ++i) {
      Engine& e = rpc[i]->engine();
      while (auto ev = e.poll_event()) {
        INFO("seed=" << seed << " " << sim.describe() << " node=" << i);
        if (ev->kind == EventKind::kRequest) {
          std::string token(ev->payload.begin(), ev->payload.end());
          ++runs[token];
          std::string body = token + "|" + std::to_string(i);
          REQUIRE(e.respond(ev->handle, {}, Bytes(body.begin(), body.end()), {}, {}, static_cast<std::int64_t>(sim.now_ms())).ok());
          continue;
        }
        if (ev->kind != EventKind::kDone) continue;
        auto it = calls.find({i, ev->handle});
        REQUIRE(it != calls.end());
        Call& c = it->second;
        ++c.done;
        REQUIRE(c.done == 1);
        if (ev->status.ok()) {
          std::string body(ev->payload.begin(), ev->payload.end());
          CHECK(body.substr(0, body.find('|')) == c.token);  // never another call's response
          c.ok = true;
        }
      }
    }
  }

  void run(std::uint64_t ms) {
    for (std::uint64_t t = 0; t < ms; t += 10) {
      sim.run_for(10);
      serve_and_collect();
    }
  }
};

void run_seed(std::uint64_t seed, bool partitions) {
  World w(seed);
  INFO("seed=" << seed << " " << w.sim.describe());
  w.run(6000);  // membership forms, advertisements spread
  int n = 0;
  for (int round = 0; round < 40; ++round) {
    for (std::size_t c = kServers; c < kNodes; ++c) w.start_call(c, n++);
    if (partitions && round == 15) w.sim.partition({0, 3}, seed % 2 == 0);  // a server and a client cut off
    if (partitions && round == 25) w.sim.heal();
    w.run(200);
  }
  w.sim.heal();
  w.sim.set_drop_rate(0);
  w.run(12000);  // every deadline has passed
  int ok = 0;
  for (const auto& [key, c] : w.calls) {
    INFO("call " << c.token);
    CHECK(c.done == 1);
    ok += c.ok;
    if (!c.idempotent) CHECK(w.runs[c.token] <= 1);  // at most once
  }
  for (std::size_t i = 0; i < kNodes; ++i) CHECK(w.rpc[i]->engine().active_calls() == 0);
  CHECK(w.calls.size() > 60);
  CHECK(ok * 2 > static_cast<int>(w.calls.size()));
}

}  // namespace

TEST_CASE("rpc: on simulated nodes with gossip discovery under loss, duplication and reordering", "[rpc][sim][node]") {
  for (std::uint64_t seed = 1; seed <= 16; ++seed) run_seed(seed, false);
}

TEST_CASE("rpc: on simulated nodes through partitions and healing", "[rpc][sim][node]") {
  for (std::uint64_t seed = 1; seed <= 16; ++seed) run_seed(seed, true);
}
