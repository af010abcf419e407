// The lock table against an independent reference model on seeded random operation sequences,
// plus the rules the issue names one by one (FIFO, expiry on committed time, PERMISSION_DENIED,
// strictly increasing tokens).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "nitro/sync.h"
#include "test_util.h"

using namespace nitro;
using namespace nitro::sync;

namespace {

PeerId peer(std::uint8_t n) {
  std::array<std::uint8_t, crypto::kPeerIdBytes> key{};
  key[0] = n;
  return PeerId(key);
}

// The reference: every acquire ever made is one row of a flat list; a lock's holder is the row in
// state kHolding, its queue the kWaiting rows in row order. No per-lock structure, no indices.
struct RefModel {
  enum class St { kWaiting, kHolding, kDone };
  struct Row {
    std::string name;
    PeerId node;
    std::uint64_t ref, ttl, wait_until, token = 0, expires = 0;
    St st;
  };
  std::vector<Row> rows;

  Row* holder(const std::string& name) {
    for (auto& r : rows) if (r.name == name && r.st == St::kHolding) return &r;
    return nullptr;
  }
  Row* first_waiter(const std::string& name) {
    for (auto& r : rows) if (r.name == name && r.st == St::kWaiting) return &r;
    return nullptr;
  }
  void settle(const std::string& name, std::uint64_t now, std::uint64_t rev) {
    for (auto& r : rows) if (r.name == name && r.st == St::kWaiting && r.wait_until <= now) r.st = St::kDone;
    if (Row* h = holder(name); h && h->expires <= now) h->st = St::kDone;
    if (!holder(name)) promote(name, now, rev);
  }
  void promote(const std::string& name, std::uint64_t now, std::uint64_t rev) {
    if (Row* w = first_waiter(name)) { w->st = St::kHolding; w->token = rev; w->expires = now + w->ttl; }
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (auto& r : rows) if (std::find(out.begin(), out.end(), r.name) == out.end()) out.push_back(r.name);
    return out;
  }
};

struct Op { int kind; std::string name; std::uint8_t node; std::uint64_t ref, ttl, wait, token_pick; };

// Applies one random op to both and compares the replies.
void step(LockTable& t, RefModel& m, const Op& op, const TxContext& ctx) {
  using St = RefModel::St;
  if (op.kind == 0) {
    auto got = t.acquire(op.name, op.ref, op.ttl, op.wait, ctx);
    REQUIRE(got.ok());
    m.settle(op.name, ctx.time_ms, ctx.revision);
    RefModel::Row* h = m.holder(op.name);
    if (!h) {
      m.rows.push_back({op.name, ctx.sender, op.ref, op.ttl, 0, ctx.revision, ctx.time_ms + op.ttl, St::kHolding});
      REQUIRE(got->outcome == AcquireOutcome::kGranted);
      REQUIRE(got->lease.token == ctx.revision);
      return;
    }
    if (h->node == ctx.sender && h->ref == op.ref) {
      REQUIRE(got->outcome == AcquireOutcome::kGranted);
      REQUIRE(got->lease.token == h->token);
      REQUIRE(got->lease.expires_ms == h->expires);
      return;
    }
    std::size_t pos = 0;
    for (auto& r : m.rows) {
      if (r.name != op.name || r.st != St::kWaiting) continue;
      if (r.node == ctx.sender && r.ref == op.ref) {
        REQUIRE(got->outcome == AcquireOutcome::kQueued);
        REQUIRE(got->position == pos);
        return;
      }
      ++pos;
    }
    if (op.wait == 0) { REQUIRE(got->outcome == AcquireOutcome::kBusy); return; }
    m.rows.push_back({op.name, ctx.sender, op.ref, op.ttl, ctx.time_ms + op.wait, 0, 0, St::kWaiting});
    REQUIRE(got->outcome == AcquireOutcome::kQueued);
    REQUIRE(got->position == pos);
    return;
  }
  // renew / release: aim at the real token half the time, a wrong one otherwise.
  m.settle(op.name, ctx.time_ms, ctx.revision);
  RefModel::Row* h = m.holder(op.name);
  std::uint64_t token = (h && op.token_pick % 2 == 0) ? h->token : op.token_pick;
  bool allowed = h && h->token == token && h->node == ctx.sender;
  if (op.kind == 1) {
    auto got = t.renew(op.name, token, ctx);
    REQUIRE(got.ok() == allowed);
    if (!allowed) { REQUIRE(got.status().code() == Code::kPermissionDenied); return; }
    h->expires = ctx.time_ms + h->ttl;
    REQUIRE(got->expires_ms == h->expires);
    return;
  }
  if (op.kind == 2) {
    Status got = t.release(op.name, token, ctx);
    REQUIRE(got.ok() == allowed);
    if (!allowed) { REQUIRE(got.code() == Code::kPermissionDenied); return; }
    h->st = St::kDone;
    m.promote(op.name, ctx.time_ms, ctx.revision);
    return;
  }
  t.cancel(op.name, op.ref, ctx);
  for (auto& r : m.rows) {
    if (r.name == op.name && r.st == St::kWaiting && r.node == ctx.sender && r.ref == op.ref) r.st = St::kDone;
  }
}

void compare_all(const LockTable& t, RefModel& m) {
  using St = RefModel::St;
  for (const auto& name : m.names()) {
    const LockState* s = t.find(name);
    RefModel::Row* h = m.holder(name);
    std::vector<RefModel::Row*> waiting;
    for (auto& r : m.rows) if (r.name == name && r.st == St::kWaiting) waiting.push_back(&r);
    if (!h && waiting.empty()) { REQUIRE(s == nullptr); continue; }
    REQUIRE(s != nullptr);
    REQUIRE(s->holder.has_value() == (h != nullptr));
    if (h) {
      REQUIRE(s->holder->owner.node == h->node);
      REQUIRE(s->holder->owner.ref == h->ref);
      REQUIRE(s->holder->token == h->token);
      REQUIRE(s->holder->expires_ms == h->expires);
    }
    REQUIRE(s->waiters.size() == waiting.size());
    for (std::size_t i = 0; i < waiting.size(); ++i) {
      REQUIRE(s->waiters[i].owner.node == waiting[i]->node);
      REQUIRE(s->waiters[i].owner.ref == waiting[i]->ref);
    }
  }
}

TxContext at(std::uint64_t time_ms, std::uint8_t node, std::uint64_t rev) { return {rev, time_ms, peer(node), rev}; }

}  // namespace

TEST_CASE("sync lock table matches the reference model on random operation sequences", "[sync]") {
  for (std::uint64_t seed : test::test_seeds("sync-model", 200)) {
    INFO("reproduce with NITRO_SEED=" << seed);
    test::SplitMix rng{seed};
    LockTable table;
    RefModel model;
    std::uint64_t now = 1000, rev = 0;
    std::vector<std::uint64_t> last_token(3, 0);
    for (int i = 0; i < 400; ++i) {
      if (rng.percent(20)) {  // a block boundary: committed time moves on
        now += rng.below(300);
        table.advance(now, ++rev);
        for (const auto& name : model.names()) model.settle(name, now, rev);
      } else {
        Op op{static_cast<int>(rng.below(4)), "l" + std::to_string(rng.below(3)),
              static_cast<std::uint8_t>(1 + rng.below(4)), rng.below(2), 1 + rng.below(500),
              rng.percent(30) ? 0 : rng.below(800), rng.below(2) == 0 ? 0 : rng.below(rev + 2)};
        step(table, model, op, at(now, op.node, ++rev));
      }
      compare_all(table, model);
      for (const auto& e : table.take_events()) {  // tokens of one lock strictly increase
        if (e.kind != SyncEvent::Kind::kGranted) continue;
        auto& last = last_token[e.name[1] - '0'];
        REQUIRE(e.token > last);
        last = e.token;
      }
    }
  }
}

TEST_CASE("sync waiters are granted FIFO, one per release", "[sync]") {
  LockTable t;
  std::uint64_t rev = 0;
  REQUIRE(t.acquire("job", 0, 1000, 0, at(0, 1, ++rev))->outcome == AcquireOutcome::kGranted);
  for (std::uint8_t n = 2; n <= 4; ++n) {
    auto r = t.acquire("job", 0, 1000, 5000, at(10, n, ++rev));
    REQUIRE(r->outcome == AcquireOutcome::kQueued);
    REQUIRE(r->position == n - 2u);
  }
  std::uint64_t token = t.find("job")->holder->token;
  for (std::uint8_t n = 2; n <= 4; ++n) {
    std::uint8_t holder = static_cast<std::uint8_t>(n - 1);
    REQUIRE(t.release("job", token, at(20, holder, ++rev)).ok());
    auto events = t.take_events();
    auto granted = std::count_if(events.begin(), events.end(),
                                 [](const SyncEvent& e) { return e.kind == SyncEvent::Kind::kGranted; });
    REQUIRE(granted == 1);  // a release wakes one waiter, not all
    REQUIRE(t.find("job")->holder->owner.node == peer(n));
    REQUIRE(t.find("job")->holder->token == rev);
    REQUIRE(t.find("job")->holder->token > token);
    token = t.find("job")->holder->token;
  }
}

TEST_CASE("sync a lease lapses on committed time, not before", "[sync]") {
  LockTable t;
  REQUIRE(t.acquire("job", 0, 1000, 0, at(5000, 1, 1))->outcome == AcquireOutcome::kGranted);
  t.advance(5999, 2);
  REQUIRE(t.find("job")->holder.has_value());
  REQUIRE(t.acquire("job", 0, 1000, 0, at(5999, 2, 3))->outcome == AcquireOutcome::kBusy);
  t.advance(6000, 4);
  REQUIRE(t.find("job") == nullptr);
  auto r = t.acquire("job", 0, 1000, 0, at(6000, 2, 5));
  REQUIRE(r->outcome == AcquireOutcome::kGranted);
  REQUIRE(r->lease.token == 5);
  // The first holder's stale token is refused for renew and release.
  REQUIRE(t.renew("job", 1, at(6001, 1, 6)).status().code() == Code::kPermissionDenied);
  REQUIRE(t.release("job", 1, at(6001, 1, 7)).code() == Code::kPermissionDenied);
}

TEST_CASE("sync release or renew by a non-holder is PERMISSION_DENIED", "[sync]") {
  LockTable t;
  auto r = t.acquire("job", 0, 1000, 0, at(0, 1, 1));
  REQUIRE(t.release("job", r->lease.token, at(1, 2, 2)).code() == Code::kPermissionDenied);
  REQUIRE(t.renew("job", r->lease.token, at(1, 2, 3)).status().code() == Code::kPermissionDenied);
  REQUIRE(t.release("missing", 1, at(1, 2, 4)).code() == Code::kPermissionDenied);
  REQUIRE(t.release("job", r->lease.token, at(1, 1, 5)).ok());
}

TEST_CASE("sync bounds are refused as values", "[sync]") {
  SyncLimits limits;
  limits.locks_max = 2;
  limits.waiters_per_lock_max = 1;
  LockTable t(limits);
  REQUIRE(t.acquire("", 0, 10, 0, at(0, 1, 1)).status().code() == Code::kInvalidArgument);
  REQUIRE(t.acquire(std::string(300, 'x'), 0, 10, 0, at(0, 1, 2)).status().code() == Code::kInvalidArgument);
  REQUIRE(t.acquire("a", 0, 0, 0, at(0, 1, 3)).status().code() == Code::kInvalidArgument);
  REQUIRE(t.acquire("a", 0, 10, 0, at(0, 1, 4)).ok());
  REQUIRE(t.acquire("b", 0, 10, 0, at(0, 1, 5)).ok());
  REQUIRE(t.acquire("c", 0, 10, 0, at(0, 1, 6)).status().code() == Code::kResourceExhausted);
  REQUIRE(t.acquire("a", 0, 10, 100, at(0, 2, 7))->outcome == AcquireOutcome::kQueued);
  REQUIRE(t.acquire("a", 0, 10, 100, at(0, 3, 8)).status().code() == Code::kResourceExhausted);
}
