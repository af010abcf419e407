// RPC under a seeded lossy network (loss, duplication, reordering, partitions): safety with the
// faults on, then liveness after healing. Each seed derives its own fault mix (swarm testing);
// seeds come from test_seeds(); a failure prints "reproduce with NITRO_SEED=<n>", which replays it.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "nitro/rpc.h"
#include "rpc_harness.h"

using namespace nitro;
using namespace nitro::rpc;
using nitro::test::bytes_of;
using nitro::test::Faults;
using nitro::test::RpcNet;
using nitro::test::str_of;

namespace {

const std::vector<std::string> kServers{"s1", "s2", "s3"};
const std::vector<std::string> kClients{"c1", "c2"};

struct Pending {
  std::string node;
  CallHandle handle;
  std::int64_t at_ms;
  std::string token;
  int messages;  // server stream: messages still to send
};

struct CallRecord {
  std::string token;
  StreamKind kind;
  bool idempotent;
  int done = 0;
  int next_msg = 0;
};

struct SimRun {
  std::uint64_t seed;
  RpcNet net;
  std::map<std::string, int> executions;  // token -> handler runs
  std::map<std::pair<std::string, CallHandle>, CallRecord> calls;
  std::vector<Pending> pending;
  int ok = 0, failed = 0;

  explicit SimRun(std::uint64_t s) : seed(s), net(s) {}

  void setup() {
    EngineConfig config;
    config.retransmit_ms = 25;
    config.window = 4;
    for (const auto& s : kServers) {
      auto& e = net.add(s, config);
      e.serve("bank");
      REQUIRE(e.register_method("Bank.Transfer", StreamKind::kUnary).ok());
      REQUIRE(e.register_method("Bank.Balance", StreamKind::kUnary).ok());
      REQUIRE(e.register_method("Bank.History", StreamKind::kServerStream).ok());
    }
    for (const auto& c : kClients) {
      auto& e = net.add(c, config);
      for (const auto& s : kServers) REQUIRE(e.registry().upsert("bank", s, {}, 0, 0).ok());
    }
    net.on_event([this](const std::string& node, Event& e) { on_event(node, e); });
  }

  void on_event(const std::string& node, Event& e) {
    auto& rng = net.rng();
    if (e.kind == EventKind::kRequest) {
      std::string token = str_of(e.payload);
      ++executions[token];
      int msgs = e.stream_kind == StreamKind::kServerStream ? 1 + static_cast<int>(rng.below(6)) : 0;
      pending.push_back({node, e.handle, net.now() + static_cast<std::int64_t>(rng.below(30)), token, msgs});
      return;
    }
    if (e.kind == EventKind::kCancelled || e.kind == EventKind::kWritable) return;
    auto it = calls.find({node, e.handle});
    INFO("seed=" << seed << " node=" << node << " handle=" << e.handle);
    REQUIRE(it != calls.end());  // every client event belongs to a call this client started
    CallRecord& rec = it->second;
    REQUIRE(rec.done == 0);      // nothing after the end
    if (e.kind == EventKind::kMessage) {
      // A stream message belongs to this call and arrives in order, once.
      CHECK(str_of(e.payload) == rec.token + "#" + std::to_string(rec.next_msg));
      ++rec.next_msg;
      Status s = net.at(node).consumed(e.handle, 1, net.now());
      CHECK((s.ok() || s.code() == Code::kNotFound));  // kNotFound: the call ended meanwhile
      return;
    }
    REQUIRE(e.kind == EventKind::kDone);
    ++rec.done;
    if (e.status.ok()) {
      ++ok;
      std::string body = str_of(e.payload);
      CHECK(body.substr(0, body.find('|')) == rec.token);  // never another call's response
    } else {
      ++failed;
    }
  }

  void start_call(const std::string& client, int n) {
    auto& rng = net.rng();
    CallOptions o;
    o.service = "bank";
    o.timeout_ms = 200 + static_cast<std::int64_t>(rng.below(800));
    o.strategy = static_cast<Strategy>(rng.below(3));
    o.hash_key = "acct-" + std::to_string(rng.below(10));
    std::uint64_t pick = rng.below(3);
    if (pick == 0) {
      o.method = "Bank.Transfer";  // not idempotent: must run at most once
      if (rng.below(2)) o.peer = kServers[rng.below(kServers.size())];
    } else if (pick == 1) {
      o.method = "Bank.Balance";
      o.idempotent = true;
      o.retries = 2;
      o.attempt_timeout_ms = 100;
    } else {
      o.method = "Bank.History";
      o.kind = StreamKind::kServerStream;
    }
    std::string token = client + ":" + std::to_string(n);
    o.payload = bytes_of(token);
    auto h = net.at(client).start_call(o, net.now());
    REQUIRE(h.ok());
    calls[{client, *h}] = CallRecord{token, o.kind, o.idempotent};
  }

  void serve_due() {
    for (std::size_t i = 0; i < pending.size();) {
      Pending& p = pending[i];
      if (p.at_ms > net.now()) { ++i; continue; }
      auto& e = net.at(p.node);
      bool finished = false;
      while (p.messages > 0) {
        Status s = e.send(p.handle, bytes_of(p.token + "#" + std::to_string(sent_count(p))), net.now());
        if (s.code() == Code::kResourceExhausted) break;  // wait for credit
        if (!s.ok()) { finished = true; break; }          // cancelled meanwhile
        --p.messages;
        ++sent_[{p.node, p.handle}];
      }
      if (!finished && p.messages == 0) {
        Status s = e.respond(p.handle, {}, bytes_of(p.token + "|" + p.node), {}, {}, net.now());
        (void)s;  // kNotFound when the call was cancelled or timed out: fine
        finished = true;
      }
      if (finished) {
        pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        p.at_ms = net.now() + 1;
        ++i;
      }
    }
  }

  int sent_count(const Pending& p) { return sent_[{p.node, p.handle}]; }

  std::map<std::pair<std::string, CallHandle>, int> sent_;
};

void run_seed(std::uint64_t seed) {
  SimRun run(seed);
  run.setup();
  auto& rng = run.net.rng();
  Faults faults;
  faults.loss = rng.unit() * 0.3;
  faults.duplicate = rng.unit() * 0.3;
  faults.delay_ms_max = 1 + static_cast<std::int64_t>(rng.below(40));
  run.net.set_faults(faults);
  INFO("reproduce with NITRO_SEED=" << seed << " loss=" << faults.loss << " dup=" << faults.duplicate << " delay=" << faults.delay_ms_max);
  const int calls_per_client = 25;
  std::map<std::string, int> started;
  // Phase 1: faults on, calls started at random times, partitions cut and healed.
  for (int ms = 0; ms < 1500; ++ms) {
    for (const auto& c : kClients) {
      if (started[c] < calls_per_client && rng.below(30) == 0) run.start_call(c, started[c]++);
    }
    if (rng.below(100) == 0) {
      run.net.partition(kClients[rng.below(2)], kServers[rng.below(3)], rng.below(2) == 0);
    }
    run.net.advance(1);
    run.serve_due();
  }
  // Phase 2: heal, stop faults; every call must end within its deadline bound.
  for (const auto& c : kClients) for (const auto& s : kServers) run.net.partition(c, s, false);
  run.net.set_faults({});
  for (int ms = 0; ms < 1200; ++ms) {
    run.net.advance(1);
    run.serve_due();
  }
  for (const auto& [token, n] : run.executions) {
    bool transfer = false;
    for (const auto& [key, rec] : run.calls) if (rec.token == token && !rec.idempotent) transfer = true;
    INFO("token " << token << " ran " << n << " times");
    if (transfer) CHECK(n <= 1);  // at most once
  }
  for (const auto& [key, rec] : run.calls) {
    INFO("call " << rec.token);
    CHECK(rec.done == 1);  // every call ended exactly once
  }
  for (const auto& c : kClients) CHECK(run.net.at(c).active_calls() == 0);
  CHECK(run.ok > 0);
  if (getenv("RPC_SIM_STATS")) {
    int reruns = 0;
    for (const auto& [t, n] : run.executions) reruns += n > 1;
    printf("seed=%llu ok=%d failed=%d executed=%zu reran=%d\n", (unsigned long long)seed, run.ok, run.failed, run.executions.size(), reruns);
  }
}

}  // namespace

TEST_CASE("rpc: under loss, duplication, reordering and partitions, no wrong response and at-most-once", "[rpc][sim]") {
  for (std::uint64_t seed : nitro::test::test_seeds("rpc-sim", 150)) run_seed(seed);
}

TEST_CASE("rpc: a perfect network completes every call", "[rpc][sim]") {
  SimRun run(99);
  run.setup();
  for (int n = 0; n < 30; ++n) run.start_call(kClients[n % 2], n);
  for (int ms = 0; ms < 300; ++ms) {
    run.net.advance(1);
    run.serve_due();
  }
  CHECK(run.ok == 30);
  CHECK(run.failed == 0);
}
