// createNode's RPC composition (NodeRpc, built by NodeRpc::create with the JS host's defaults) on
// simulated nodes: secure links, gossip membership, discovery by gossiped and direct ads, discovery
// waits, coalesced link messages, over a network that drops, duplicates, reorders and partitions,
// with servers and clients crashing and restarting. The one difference from a wasm node is how
// events reach the host: polled from the engine here, emitted as drain batches there. Like the JS
// host, this host runs a request's handler only once the store writes drained with it are durable
// (storage_sync_ms later), and a crash loses what is not (Simulator's crash model).
//
// Two phases per seed (seeds from test_seeds; a failure prints "reproduce with NITRO_SEED=<n>"):
//   1. safety under faults: no call ends twice, no response reaches the wrong call, a
//      non-idempotent call runs on at most one server and at most once there, across its crashes
//      and restarts (the dedupe window's high-water marks are written ahead, see rpc_node.h);
//   2. heal (partitions healed, loss off, crashed nodes restarted), then EVERY call started after
//      the heal succeeds within kHealBoundMs of virtual time.
#include <catch2/catch.hpp>

#include <deque>
#include <map>
#include <set>
#include <string>

#include "nitro/rpc_node.h"
#include "nitro/sim.h"
#include "test_util.h"

using namespace nitro;
using namespace nitro::rpc;
using nitro::sim::SimConfig;
using nitro::sim::Simulator;

namespace {

constexpr std::size_t kNodes = 6;
constexpr std::size_t kServers = 3;             // nodes 0..2 serve "bank"; 3..5 call it
constexpr std::uint64_t kHealBoundMs = 10000;   // every post-heal call succeeds within this
constexpr std::int64_t kPostHealTimeoutMs = 8000;

struct Call {
  std::string token;
  bool idempotent = false;
  bool after_heal = false;
  std::uint64_t started_ms = 0;
  std::uint64_t ended_ms = 0;
  int done = 0;
  bool ok = false;
  std::string error;
};

struct World {
  std::uint64_t seed;
  Simulator sim;
  test::SplitMix rng;
  std::vector<NodeRpc*> rpc;
  std::vector<std::uint64_t> incarnation;
  std::map<std::string, std::map<std::pair<std::size_t, std::uint64_t>, int>> runs;  // token -> (server, inc) -> runs
  std::vector<std::deque<std::pair<std::uint64_t, rpc::Event>>> unrun;  // requests waiting for their writes: (durable at, event)
  std::size_t refused_after_restart = 0;  // ABORTED: may have run in an earlier incarnation
  std::map<std::pair<std::size_t, CallHandle>, Call> calls;  // (client node, handle), this incarnation
  std::vector<Call> archived;   // ended calls of crashed client incarnations
  std::size_t lost_calls = 0;   // calls of a client that crashed before they ended

  static SimConfig config(std::uint64_t seed) {
    SimConfig c = SimConfig::swarm(seed, kNodes);
    c.drop_rate = std::max(c.drop_rate, 0.02);
    c.duplicate_rate = std::max(c.duplicate_rate, 0.02);
    c.reorder_rate = std::max(c.reorder_rate, 0.05);
    return c;
  }

  explicit World(std::uint64_t s) : seed(s), sim(config(s)), rng{s * 7919}, rpc(kNodes, nullptr), incarnation(kNodes, 0), unrun(kNodes) {
    for (std::size_t i = 0; i < kNodes; ++i) attach(i);
  }

  // What createNode does: NodeRpc::create with the node's name, every JS default kept except the
  // retransmit a lossy network needs, then the handlers.
  void attach(std::size_t i) {
    NodeRpcConfig rc;
    rc.name = i < kServers ? "bank" : "client-" + std::to_string(i);
    rc.engine.retransmit_ms = 300;
    auto p = NodeRpc::create(rc);
    REQUIRE(p.ok());
    rpc[i] = p->get();
    sim.with_node(i, [&](Node& n) { REQUIRE(n.add_protocol(kNodeChannel, std::move(*p)).ok()); });
    if (i < kServers) {
      REQUIRE(rpc[i]->engine().register_method("Bank.Transfer", StreamKind::kUnary).ok());
      REQUIRE(rpc[i]->engine().register_method("Bank.Balance", StreamKind::kUnary).ok());
    }
  }

  void crash(std::size_t i) {
    sim.crash(i);
    rpc[i] = nullptr;
    unrun[i].clear();  // their handlers never ran
    for (auto it = calls.begin(); it != calls.end();) {
      if (it->first.first == i) {
        if (it->second.done == 0) ++lost_calls;
        else archived.push_back(it->second);
        it = calls.erase(it);
      } else {
        ++it;
      }
    }
  }

  void restart(std::size_t i) {
    sim.restart(i);
    if (!sim.alive(i)) return;
    ++incarnation[i];
    attach(i);
  }

  void start_call(std::size_t client, int n, bool after_heal) {
    if (!rpc[client]) return;
    CallOptions o;
    o.service = "bank";
    o.timeout_ms = after_heal ? kPostHealTimeoutMs : 3000 + static_cast<std::int64_t>(rng.below(4000));
    o.strategy = static_cast<Strategy>(rng.below(3));
    o.hash_key = "acct-" + std::to_string(rng.below(7));
    const bool idempotent = rng.below(2) == 0;
    o.method = idempotent ? "Bank.Balance" : "Bank.Transfer";
    o.idempotent = idempotent;
    if (idempotent) {
      o.retries = 2;
      o.attempt_timeout_ms = 1500;
    }
    std::string token = std::to_string(client) + ":" + std::to_string(n);
    o.payload = Bytes(token.begin(), token.end());
    sim.with_node(client, [&](Node&) {
      auto h = rpc[client]->start_call(o, sim.now_ms());
      if (h.ok()) calls[{client, *h}] = Call{token, idempotent, after_heal, sim.now_ms()};
      rpc[client]->flush(sim.now_ms());
    });
  }

  // The hosts' side: run handlers (answer at once) and collect results.
  void serve_and_collect() {
    for (std::size_t i = 0; i < kNodes; ++i) {
      if (!rpc[i]) continue;
      sim.with_node(i, [&](Node&) {
        Engine& e = rpc[i]->engine();
        while (auto ev = e.poll_event()) on_event(i, e, *ev);
        while (!unrun[i].empty() && unrun[i].front().first <= sim.now_ms()) {
          run_handler(i, e, unrun[i].front().second);
          unrun[i].pop_front();
        }
        rpc[i]->flush(sim.now_ms());
      });
    }
  }

  void on_event(std::size_t i, Engine& e, const rpc::Event& ev) {
    INFO("reproduce with NITRO_SEED=" << seed << " " << sim.describe() << " node=" << i);
    if (ev.kind == EventKind::kRequest) {
      unrun[i].emplace_back(sim.now_ms() + sim.config().storage_sync_ms, ev);
      return;
    }
    if (ev.kind != EventKind::kDone) return;
    auto it = calls.find({i, ev.handle});
    REQUIRE(it != calls.end());
    Call& c = it->second;
    ++c.done;
    REQUIRE(c.done == 1);  // a call ends exactly once
    c.ended_ms = sim.now_ms();
    if (ev.status.ok()) {
      std::string body(ev.payload.begin(), ev.payload.end());
      CHECK(body.substr(0, body.find('|')) == c.token);  // never another call's response
      c.ok = true;
    } else {
      c.error = std::string(code_name(ev.status.code())) + " " + ev.status.message();
      if (ev.status.code() == Code::kAborted) ++refused_after_restart;
    }
  }

  // The handler runs even if the call ended meanwhile (a JS handler does not know either).
  void run_handler(std::size_t i, Engine& e, const rpc::Event& ev) {
    std::string token(ev.payload.begin(), ev.payload.end());
    ++runs[token][{i, incarnation[i]}];
    std::string body = token + "|" + std::to_string(i);
    Status s = e.respond(ev.handle, {}, Bytes(body.begin(), body.end()), {}, {}, static_cast<std::int64_t>(sim.now_ms()));
    REQUIRE((s.ok() || s.code() == Code::kNotFound));
  }

  void run(std::uint64_t ms) {
    for (std::uint64_t t = 0; t < ms; t += 10) {
      sim.run_for(10);
      serve_and_collect();
    }
  }
};

void check_safety(const World& w) {
  std::vector<Call> all = w.archived;
  for (const auto& [key, c] : w.calls) all.push_back(c);
  for (const auto& c : all) {
    if (c.idempotent) continue;
    auto it = w.runs.find(c.token);
    if (it == w.runs.end()) continue;
    std::set<std::size_t> servers;
    int total = 0;
    for (const auto& [where, n] : it->second) {
      servers.insert(where.first);
      total += n;
    }
    INFO("reproduce with NITRO_SEED=" << w.seed << " call " << c.token << " ran " << total << " times");
    CHECK(total <= 1);            // at most once, across the server's restarts
    CHECK(servers.size() <= 1);  // never retried elsewhere
  }
}

void run_seed(std::uint64_t seed) {
  World w(seed);
  test::SplitMix faults{seed ^ 0xfa17ull};
  INFO("reproduce with NITRO_SEED=" << seed << " " << w.sim.describe());
  w.run(3000);  // membership forms, advertisements spread
  // Phase 1: faults on. Swarm: each seed picks its partition, crash victims and timing.
  int n = 0;
  const int partition_at = 5 + static_cast<int>(faults.below(10));
  const int crash_at = 5 + static_cast<int>(faults.below(20));
  const std::size_t crashed_server = faults.below(kServers);
  const std::size_t crashed_client = kServers + faults.below(kNodes - kServers);
  const bool crash_client = faults.percent(50);
  INFO("partition at round " << partition_at << ", crash at round " << crash_at << ": server " << crashed_server
                             << (crash_client ? ", client " + std::to_string(crashed_client) : std::string()));
  for (int round = 0; round < 40; ++round) {
    for (std::size_t c = kServers; c < kNodes; ++c) w.start_call(c, n++, false);
    if (round == partition_at) w.sim.partition({crashed_server, kNodes - 1}, faults.percent(50));
    if (round == partition_at + 10) w.sim.heal();
    if (round == crash_at) {
      w.crash(crashed_server);
      if (crash_client) w.crash(crashed_client);
    }
    if (round == crash_at + 4) {
      w.restart(crashed_server);
      if (crash_client) w.restart(crashed_client);
    }
    w.run(200);
  }
  w.run(8000);  // every phase-1 deadline passes
  for (const auto& [key, c] : w.calls) {
    INFO("call " << c.token);
    CHECK(c.done == 1);
  }
  check_safety(w);

  // Phase 2: heal everything, then every call started from now on must succeed within the bound.
  w.sim.heal();
  w.sim.set_drop_rate(0);
  for (std::size_t i = 0; i < kNodes; ++i) {
    if (!w.sim.alive(i)) w.restart(i);
  }
  const std::uint64_t healed_at = w.sim.now_ms();
  for (int round = 0; round < 10; ++round) {
    for (std::size_t c = kServers; c < kNodes; ++c) w.start_call(c, n++, true);
    w.run(100);
  }
  w.run(kHealBoundMs);
  int after = 0;
  for (const auto& [key, c] : w.calls) {
    if (!c.after_heal) continue;
    ++after;
    INFO("reproduce with NITRO_SEED=" << seed << " post-heal call " << c.token << " started " << (c.started_ms - healed_at)
                                      << " ms after the heal: " << c.error);
    CHECK(c.done == 1);
    CHECK(c.ok);
    CHECK(c.ended_ms - c.started_ms <= kHealBoundMs);
  }
  CHECK(after == 30);
  check_safety(w);
  for (std::size_t i = 0; i < kNodes; ++i) {
    REQUIRE(w.rpc[i] != nullptr);
    CHECK(w.rpc[i]->engine().active_calls() == 0);
    CHECK(w.rpc[i]->pending_calls() == 0);
  }
}

}  // namespace

TEST_CASE("rpc sim: createNode's composition under loss, partitions, duplication and crash-restart, then liveness", "[rpc][sim][node]") {
  for (std::uint64_t seed : test::test_seeds("rpc_node_sim", 24)) run_seed(seed);
}

TEST_CASE("rpc sim: a call for a service not yet discovered waits for it inside the protocol", "[rpc][sim][node]") {
  for (std::uint64_t seed : test::test_seeds("rpc_node_discovery", 8)) {
    INFO("reproduce with NITRO_SEED=" << seed);
    SimConfig c;
    c.seed = seed;
    c.nodes = 2;
    c.start_spread_ms = 0;
    Simulator sim(c);
    std::vector<NodeRpc*> rpc;
    for (std::size_t i = 0; i < 2; ++i) {
      NodeRpcConfig rc;
      rc.name = i == 0 ? "greeter" : "client";
      auto p = NodeRpc::create(rc);
      REQUIRE(p.ok());
      rpc.push_back(p->get());
      sim.with_node(i, [&](Node& n) { REQUIRE(n.add_protocol(kNodeChannel, std::move(*p)).ok()); });
    }
    REQUIRE(rpc[0]->engine().register_method("Greeter.Hello", StreamKind::kUnary).ok());
    // Before any link is up: nothing is known, so the call waits (no UNAVAILABLE).
    CallOptions o;
    o.service = "greeter";
    o.method = "Greeter.Hello";
    o.timeout_ms = 3000;
    CallHandle h = 0;
    sim.with_node(1, [&](Node&) {
      auto r = rpc[1]->start_call(o, sim.now_ms());
      REQUIRE(r.ok());
      h = *r;
    });
    CHECK(rpc[1]->pending_calls() == 1);
    bool ok = false;
    for (int t = 0; t < 300 && !ok; ++t) {
      sim.run_for(10);
      sim.with_node(0, [&](Node&) {
        while (auto ev = rpc[0]->engine().poll_event()) {
          if (ev->kind == EventKind::kRequest) (void)rpc[0]->engine().respond(ev->handle, {}, {}, {}, {}, static_cast<std::int64_t>(sim.now_ms()));
        }
        rpc[0]->flush(sim.now_ms());
      });
      while (auto ev = rpc[1]->engine().poll_event()) {
        REQUIRE(ev->handle == h);
        CHECK(ev->status.ok());
        ok = ev->status.ok();
      }
    }
    CHECK(ok);
    CHECK(rpc[1]->pending_calls() == 0);
  }
}

// Over a secure link a restarted server cannot even decrypt the old link's retransmissions, and the
// caller's link goes down (non-idempotent calls fail UNAVAILABLE); the dedupe marks still guard any
// path that replays a request to the new incarnation. Here the request is replayed into the
// restored engine directly; the marks travel through the node's store and the simulator's crash.
TEST_CASE("rpc sim: dedupe marks are written ahead and a restarted node refuses a request that ran before", "[rpc][sim][node]") {
  for (std::uint64_t seed : test::test_seeds("rpc_node_dedupe_restart", 8)) {
    INFO("reproduce with NITRO_SEED=" << seed);
    SimConfig c;
    c.seed = seed;
    c.nodes = 2;  // node 1 only lends its peer id to the replayed requests
    c.start_spread_ms = 0;
    c.storage_sync_ms = 5;
    Simulator sim(c);
    NodeRpc* server = nullptr;
    auto attach = [&] {
      auto p = NodeRpc::create(NodeRpcConfig{});
      REQUIRE(p.ok());
      server = p->get();
      sim.with_node(0, [&](Node& n) { REQUIRE(n.add_protocol(kNodeChannel, std::move(*p)).ok()); });
      REQUIRE(server->engine().register_method("Bank.Transfer", StreamKind::kUnary).ok());
    };
    attach();
    sim.run_for(100);
    const PeerKey caller = NodeRpc::key(sim.node(1)->id());
    Engine client(caller, seed);
    CallOptions o;
    o.peer = NodeRpc::key(sim.node(0)->id());
    o.method = "Bank.Transfer";
    std::vector<Bytes> requests;
    for (int i = 0; i < 3; ++i) {
      REQUIRE(client.start_call(o, 0).ok());
      requests.push_back(client.poll_transmit()->bytes);
    }
    auto deliver = [&](const Bytes& request) {
      int runs = 0;
      sim.with_node(0, [&](Node&) {
        REQUIRE(server->engine().handle(caller, request, static_cast<std::int64_t>(sim.now_ms())).ok());
        server->flush(sim.now_ms());
        while (auto ev = server->engine().poll_event()) runs += ev->kind == EventKind::kRequest;
      });
      return runs;
    };
    REQUIRE(deliver(requests[1]) == 1);  // runs; its mark (2) is drained with it
    int marks = 0;
    for (const auto& [k, v] : sim.stored(0)) marks += k.rfind("rpc/dd/", 0) == 0;
    CHECK(marks == 0);  // not durable yet: a host runs the handler only after storage_sync_ms
    sim.run_for(c.storage_sync_ms);
    for (const auto& [k, v] : sim.stored(0)) marks += k.rfind("rpc/dd/", 0) == 0;
    CHECK(marks == 1);
    sim.crash(0);  // before it answered
    sim.restart(0);
    REQUIRE(sim.alive(0));
    attach();
    CHECK(deliver(requests[1]) == 0);  // the retransmission: refused, not run again
    CHECK(deliver(requests[0]) == 0);  // below the mark: may have run as far as the node knows
    CHECK(deliver(requests[2]) == 1);  // above it: new
  }
}
