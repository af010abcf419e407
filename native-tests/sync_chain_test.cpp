// The "sync" chain module (state in the chain's KvState, deadlines indexed for begin_block)
// against the in-memory LockTable (itself checked against the reference model in sync_test.cpp),
// on seeded random operation sequences driven the way the chain drives modules: begin_block with
// the block's time and revision, then the block's transactions, an error discarding a tx's writes.
#include <catch2/catch.hpp>

#include <map>
#include <string>

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

// A plain ordered map with a copy-on-begin transaction, as chain_exec.h describes the view.
class MapKv final : public chain::KvState {
 public:
  std::map<std::string, chain::KvEntry> data;
  std::uint64_t rev = 0;

  const chain::KvEntry* get(std::string_view key) const override {
    auto it = data.find(std::string(key));
    return it == data.end() ? nullptr : &it->second;
  }
  Status put(std::string_view key, Value value) override {
    auto& e = data[std::string(key)];
    if (e.create_revision == 0) e.create_revision = rev;
    e.value = std::move(value);
    e.mod_revision = rev;
    ++e.version;
    return {};
  }
  bool erase(std::string_view key) override { return data.erase(std::string(key)) > 0; }
  std::vector<std::pair<std::string, chain::KvEntry>> scan(std::string_view prefix, std::string_view start,
                                                           std::size_t limit) const override {
    std::vector<std::pair<std::string, chain::KvEntry>> out;
    for (auto it = data.lower_bound(std::string(start)); it != data.end() && out.size() < limit; ++it) {
      if (!it->first.starts_with(prefix)) break;
      out.emplace_back(*it);
    }
    return out;
  }
  std::uint64_t revision() const override { return rev; }
};

// Applies one tx atomically: on error the writes are rolled back.
Result<Value> apply_tx(chain::BuiltinModule& m, MapKv& kv, const std::string& op, const Value& args,
                       const chain::TxContext& ctx) {
  auto saved = kv.data;
  kv.rev = ctx.revision;
  auto r = m.apply(kv, op, args, ctx);
  if (!r.ok()) kv.data = std::move(saved);
  return r;
}

void compare(const LockTable& table, const MapKv& kv, const std::string& name) {
  const LockState* want = table.find(name);
  const chain::KvEntry* e = kv.get(lock_state_key(name));
  REQUIRE((want == nullptr) == (e == nullptr));
  if (!want) return;
  auto got = decode_lock(e->value);
  REQUIRE(got.ok());
  REQUIRE(got->holder.has_value() == want->holder.has_value());
  if (want->holder) {
    REQUIRE(got->holder->owner == want->holder->owner);
    REQUIRE(got->holder->token == want->holder->token);
    REQUIRE(got->holder->expires_ms == want->holder->expires_ms);
  }
  REQUIRE(got->waiters.size() == want->waiters.size());
  for (std::size_t i = 0; i < want->waiters.size(); ++i) REQUIRE(got->waiters[i].owner == want->waiters[i].owner);
}

}  // namespace

TEST_CASE("sync chain module matches the lock table on random blocks", "[sync]") {
  for (std::uint64_t seed : test::test_seeds("sync-chain", 100)) {
    INFO("reproduce with NITRO_SEED=" << seed);
    test::SplitMix rng{seed};
    auto module = make_sync_module();
    MapKv kv;
    LockTable table;
    std::uint64_t now = 1000, rev = 0;
    for (std::uint64_t height = 1; height <= 60; ++height) {
      now += rng.below(400);
      kv.rev = ++rev;
      module->begin_block(kv, chain::BlockContext{height, now, peer(9), rev});
      table.advance(now, rev);
      for (std::uint64_t i = rng.below(6); i > 0; --i) {
        const std::string name = "l" + std::to_string(rng.below(3));
        const std::uint8_t node = static_cast<std::uint8_t>(1 + rng.below(4));
        const std::uint64_t ref = rng.below(2);
        const chain::TxContext ctx{height, now, peer(node), ++rev};
        const TxContext tctx{height, now, peer(node), rev};
        const int kind = static_cast<int>(rng.below(4));
        const LockState* cur = table.find(name);
        const std::uint64_t token = cur && cur->holder && rng.percent(60) ? cur->holder->token : rng.below(rev + 1);
        if (kind == 0) {
          const std::uint64_t ttl = 1 + rng.below(800), wait = rng.percent(30) ? 0 : rng.below(1500);
          auto got = apply_tx(*module, kv, "sync.acquire",
              Value(Map{{Value("name"), Value(name)}, {Value("ttlMs"), Value(ttl)}, {Value("waitMs"), Value(wait)},
                        {Value("ref"), Value(ref)}}), ctx);
          auto want = table.acquire(name, ref, ttl, wait, tctx);
          REQUIRE(got.ok() == want.ok());
          if (want.ok() && want->outcome == AcquireOutcome::kGranted) REQUIRE(*got->find("token") == Value(want->lease.token));
        } else if (kind == 1 || kind == 2) {
          const std::string op = kind == 1 ? "sync.renew" : "sync.release";
          auto got = apply_tx(*module, kv, op, Value(Map{{Value("name"), Value(name)}, {Value("token"), Value(token)}}), ctx);
          const Status want = kind == 1 ? table.renew(name, token, tctx).status() : table.release(name, token, tctx);
          REQUIRE(got.status().code() == want.code());
        } else {
          REQUIRE(apply_tx(*module, kv, "sync.cancel", Value(Map{{Value("name"), Value(name)}, {Value("ref"), Value(ref)}}), ctx).ok());
          table.cancel(name, ref, tctx);
        }
        table.take_events();
        for (int l = 0; l < 3; ++l) compare(table, kv, "l" + std::to_string(l));
      }
    }
  }
}

TEST_CASE("sync chain module refuses bad arguments and tampered state as values", "[sync]") {
  auto module = make_sync_module();
  MapKv kv;
  const chain::TxContext ctx{1, 1000, peer(1), 5};
  REQUIRE(apply_tx(*module, kv, "sync.acquire", Value(7), ctx).status().code() == Code::kInvalidArgument);
  REQUIRE(apply_tx(*module, kv, "sync.acquire", Value(Map{{Value("name"), Value("x")}}), ctx).status().code() == Code::kInvalidArgument);
  REQUIRE(apply_tx(*module, kv, "sync.nope", Value(Map{{Value("name"), Value("x")}}), ctx).status().code() == Code::kNotFound);
  REQUIRE(kv.put(lock_state_key("x"), Value(Map{{Value("h"), Value(3)}})).ok());
  REQUIRE(apply_tx(*module, kv, "sync.renew", Value(Map{{Value("name"), Value("x")}, {Value("token"), Value(1)}}), ctx)
              .status().code() == Code::kDecodeError);
  REQUIRE(kv.put(std::string("\0sync/d/zz", 10), Value()).ok());
  module->begin_block(kv, chain::BlockContext{2, 2000, peer(1), 6});  // dropped, no crash
  REQUIRE(kv.get(std::string("\0sync/d/zz", 10)) == nullptr);
  for (const Value& bad : {Value(), Value(Map{}), Value(Map{{Value("h"), Value()}, {Value("w"), Value(Array{Value(1)})}, {Value("t"), Value(1)}}),
                           Value(Map{{Value("h"), Value(Array{Value(Bytes(3)), Value(1), Value(1), Value(1), Value(1)})},
                                     {Value("w"), Value(Array{})}, {Value("t"), Value(1)}})}) {
    REQUIRE(decode_lock(bad).status().code() == Code::kDecodeError);
  }
}

TEST_CASE("sync chain module sync.put writes only while the token holds the lock", "[sync]") {
  auto module = make_sync_module();
  MapKv kv;
  auto put = [&](std::uint8_t node, std::uint64_t token, std::uint64_t time, std::uint64_t rev, const char* key = "res") {
    return apply_tx(*module, kv, "sync.put",
        Value(Map{{Value("name"), Value("job")}, {Value("token"), Value(token)}, {Value("key"), Value(key)},
                  {Value("value"), Value(static_cast<std::int64_t>(rev))}}), chain::TxContext{1, time, peer(node), rev});
  };
  auto got = apply_tx(*module, kv, "sync.acquire", Value(Map{{Value("name"), Value("job")}, {Value("ttlMs"), Value(1000)}}),
                      chain::TxContext{1, 1000, peer(1), 10});
  const std::uint64_t token = 10;
  REQUIRE(got.ok());
  REQUIRE(put(1, token, 1500, 11).ok());
  REQUIRE(kv.get("res")->value == Value(11));
  REQUIRE(put(2, token, 1500, 12).status().code() == Code::kFailedPrecondition);       // not the holder
  REQUIRE(put(1, token + 1, 1500, 13).status().code() == Code::kFailedPrecondition);   // not the token
  REQUIRE(put(1, token, 1500, 14, "").status().code() == Code::kInvalidArgument);
  REQUIRE(apply_tx(*module, kv, "sync.put", Value(Map{{Value("name"), Value("job")}, {Value("token"), Value(token)},
              {Value("key"), Value(std::string("\0sync/l/job", 11))}, {Value("value"), Value(1)}}),
              chain::TxContext{1, 1500, peer(1), 15}).status().code() == Code::kInvalidArgument);
  // The lease lapsed at 2000: refused although nobody else holds the lock yet.
  REQUIRE(put(1, token, 2000, 16).status().code() == Code::kFailedPrecondition);
  REQUIRE(kv.get("res")->value == Value(11));
}
