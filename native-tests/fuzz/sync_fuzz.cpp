// Fuzz target: the "sync" chain module's decoders must be total. The first byte (mod 6) picks the
// surface, the rest is msgpack: (0) a stored lock state: decode_lock accepts it or says
// kDecodeError, and what it accepts re-encodes to a state that decodes to the same thing;
// (1..5) the arguments of sync.acquire / renew / release / cancel / put, applied to a state holding one
// valid lock and one tampered one: an answer or a typed error, never a crash.
#include <cstdint>
#include <cstdlib>
#include <map>
#include <span>

#include "nitro/codec.h"
#include "nitro/sync.h"

namespace {

using namespace nitro;

class MapKv final : public chain::KvState {
 public:
  std::map<std::string, chain::KvEntry> data;
  const chain::KvEntry* get(std::string_view key) const override {
    auto it = data.find(std::string(key));
    return it == data.end() ? nullptr : &it->second;
  }
  Status put(std::string_view key, Value value) override {
    data[std::string(key)].value = std::move(value);
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
  std::uint64_t revision() const override { return 100; }
};

bool same(const sync::LockState& a, const sync::LockState& b) {
  if (a.last_token != b.last_token || a.holder.has_value() != b.holder.has_value()) return false;
  if (a.holder && (!(a.holder->owner == b.holder->owner) || a.holder->token != b.holder->token ||
                   a.holder->ttl_ms != b.holder->ttl_ms || a.holder->expires_ms != b.holder->expires_ms)) {
    return false;
  }
  if (a.waiters.size() != b.waiters.size()) return false;
  for (std::size_t i = 0; i < a.waiters.size(); ++i) {
    if (!(a.waiters[i].owner == b.waiters[i].owner) || a.waiters[i].ttl_ms != b.waiters[i].ttl_ms ||
        a.waiters[i].wait_until_ms != b.waiters[i].wait_until_ms) {
      return false;
    }
  }
  return true;
}

void check_state(const Value& v) {
  auto lock = sync::decode_lock(v);
  if (!lock.ok()) {
    if (lock.status().code() != Code::kDecodeError) std::abort();
    return;
  }
  auto again = sync::decode_lock(sync::encode_lock(*lock));
  if (!again.ok() || !same(*lock, *again)) std::abort();
}

void check_op(std::uint8_t which, const Value& args) {
  static const char* ops[] = {"sync.acquire", "sync.renew", "sync.release", "sync.cancel", "sync.put"};
  MapKv kv;
  auto module = sync::make_sync_module();
  std::array<std::uint8_t, crypto::kPeerIdBytes> key{};
  key[0] = 1;
  const chain::TxContext ctx{1, 1000, PeerId(key), 50};
  (void)module->apply(kv, "sync.acquire", Value(Map{{Value("name"), Value("a")}, {Value("ttlMs"), Value(500)}}), ctx);
  (void)kv.put(sync::lock_state_key("b"), Value(Map{{Value("h"), Value(1)}}));
  const chain::TxContext later{2, 1200, PeerId(key), 60};
  auto r = module->apply(kv, ops[(which - 1) % 5], args, later);
  (void)r;
  module->begin_block(kv, chain::BlockContext{3, 5000, PeerId(key), 70});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  auto v = codec::decode(std::span<const std::uint8_t>(data + 1, size - 1));
  if (!v.ok()) return 0;
  if (data[0] % 6 == 0) check_state(*v); else check_op(static_cast<std::uint8_t>(data[0] % 6), *v);
  return 0;
}
