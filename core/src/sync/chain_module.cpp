// The "sync" chain module: the lock rules (nitro/sync.h) over state kept in the chain's KvState,
// so every validator holds the same locks and the state root covers them. Keys:
//   "\0sync/l/<name>"                 the lock (encode_lock)
//   "\0sync/d/<16 hex ms>/<name>"     index: the lock's next deadline, for begin_block
//   "\0sync/n"                        how many locks exist (SyncLimits::locks_max)
#include <cstdio>

#include "nitro/assert.h"
#include "nitro/sync.h"

namespace nitro::sync {

namespace {

const std::string kLockPrefix("\0sync/l/", 8);
const std::string kDuePrefix("\0sync/d/", 8);
const std::string kCountKey("\0sync/n", 7);
constexpr std::size_t kDueHexChars = 16;

std::string due_key(std::uint64_t at_ms, const std::string& name) {
  char hex[kDueHexChars + 1];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(at_ms));
  return kDuePrefix + hex + "/" + name;
}

// "\0sync/d/<16 hex>/<name>" -> (deadline, name); nullopt for anything else.
std::optional<std::pair<std::uint64_t, std::string>> parse_due(const std::string& key) {
  const std::size_t name_at = kDuePrefix.size() + kDueHexChars + 1;
  if (key.size() <= name_at || key.compare(0, kDuePrefix.size(), kDuePrefix) != 0 || key[name_at - 1] != '/') {
    return std::nullopt;
  }
  std::uint64_t at = 0;
  for (std::size_t i = kDuePrefix.size(); i < name_at - 1; ++i) {
    const char c = key[i];
    const int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (digit < 0) return std::nullopt;
    at = at * 16 + static_cast<std::uint64_t>(digit);
  }
  return std::make_pair(at, key.substr(name_at));
}

std::optional<std::uint64_t> u64_of(const Value* v) {
  if (v && v->is<std::int64_t>() && v->as<std::int64_t>() >= 0) return static_cast<std::uint64_t>(v->as<std::int64_t>());
  if (v && v->is<std::uint64_t>()) return v->as<std::uint64_t>();
  return std::nullopt;
}

Value owner_value(const Owner& o) {
  return Value(Array{Value(Bytes(o.node.bytes().begin(), o.node.bytes().end())), Value(o.ref)});
}

Result<Owner> decode_owner(const Value& node, const Value& ref) {
  if (!node.is<Bytes>() || node.as<Bytes>().size() != crypto::kPeerIdBytes) return Status(decode_error("sync: bad owner"));
  auto r = u64_of(&ref);
  if (!r) return Status(decode_error("sync: bad owner ref"));
  std::array<std::uint8_t, crypto::kPeerIdBytes> key{};
  std::copy(node.as<Bytes>().begin(), node.as<Bytes>().end(), key.begin());
  return Owner{PeerId(key), *r};
}

// [node, ref, a, b, c?]: the owner and `n` more unsigned numbers.
Result<std::vector<std::uint64_t>> decode_row(const Value& v, std::size_t n, Owner& owner) {
  if (!v.is<Array>() || v.as<Array>().size() != 2 + n) return Status(decode_error("sync: bad row"));
  const Array& a = v.as<Array>();
  auto o = decode_owner(a[0], a[1]);
  if (!o.ok()) return o.status();
  owner = *o;
  std::vector<std::uint64_t> out;
  for (std::size_t i = 2; i < a.size(); ++i) {
    auto x = u64_of(&a[i]);
    if (!x) return Status(decode_error("sync: bad number"));
    out.push_back(*x);
  }
  return out;
}

Value reply_value(const AcquireReply& r) {
  switch (r.outcome) {
    case AcquireOutcome::kGranted:
      return Value(Map{{Value("outcome"), Value("granted")}, {Value("token"), Value(r.lease.token)},
                       {Value("expiresMs"), Value(r.lease.expires_ms)}});
    case AcquireOutcome::kQueued:
      return Value(Map{{Value("outcome"), Value("queued")}, {Value("position"), Value(std::uint64_t{r.position})}});
    case AcquireOutcome::kBusy: break;
  }
  return Value(Map{{Value("outcome"), Value("busy")}});
}

class SyncModule final : public chain::BuiltinModule {
 public:
  explicit SyncModule(SyncLimits limits) : limits_(limits) {}

  Result<Value> apply(chain::KvState& s, const std::string& op, const Value& args, const chain::TxContext& ctx) override {
    if (!args.is<Map>()) return Status(invalid_argument(op + ": args must be a map"));
    const Value* name_v = args.find("name");
    if (!name_v || !name_v->is<std::string>()) return Status(invalid_argument(op + ": needs a name"));
    const std::string& name = name_v->as<std::string>();
    NITRO_TRY(rules::check_name(name, limits_));
    auto loaded = load(s, name);
    if (!loaded.ok()) return loaded.status();
    LockState lock = std::move(*loaded);
    const bool existed = s.get(lock_state_key(name)) != nullptr;
    if (!existed && op == "sync.acquire" && count(s) >= limits_.locks_max) {
      return Status(resource_exhausted("too many locks"));
    }
    const std::optional<std::uint64_t> due_before = rules::next_deadline(lock);
    std::vector<SyncEvent> events;
    pending_put_.reset();
    Result<Value> out = run(op, args, name, lock, ctx, events);
    // An error discards this tx's writes (chain_exec.h), settling included: nothing to store.
    if (!out.ok()) return out;
    NITRO_TRY(store(s, name, lock, existed, due_before));
    if (pending_put_) {
      auto put = std::move(*pending_put_);
      pending_put_.reset();
      NITRO_TRY(s.put(put.first, std::move(put.second)));
    }
    return out;
  }

  void begin_block(chain::KvState& s, const chain::BlockContext& ctx) override {
    // Settle every lock whose deadline has come, in deadline order; each settle moves its index
    // entry later (or removes it), so the loop ends.
    for (;;) {
      auto due = s.scan(kDuePrefix, kDuePrefix, 1);
      if (due.empty()) return;
      const std::string key = due.front().first;
      auto parsed = parse_due(key);
      // Only this module writes under the prefix; anything unreadable is dropped, not trusted.
      if (!parsed) { s.erase(key); continue; }
      const auto& [at, name] = *parsed;
      if (at > ctx.time_ms) return;
      auto loaded = load(s, name);
      if (!loaded.ok()) { s.erase(key); continue; }
      LockState lock = std::move(*loaded);
      std::vector<SyncEvent> events;
      rules::settle(name, lock, ctx.time_ms, ctx.revision, events);
      NITRO_ASSERT(store(s, name, lock, true, at).ok());
    }
  }

 private:
  Result<Value> run(const std::string& op, const Value& args, const std::string& name, LockState& lock,
                    const chain::TxContext& ctx, std::vector<SyncEvent>& events) {
    const std::uint64_t ref = u64_of(args.find("ref")).value_or(0);
    if (op == "sync.acquire") {
      auto ttl = u64_of(args.find("ttlMs"));
      if (!ttl) return Status(invalid_argument("sync.acquire: needs ttlMs"));
      const std::uint64_t wait = u64_of(args.find("waitMs")).value_or(0);
      auto r = rules::acquire(name, lock, Owner{ctx.sender, ref}, *ttl, wait, ctx.time_ms, ctx.revision, limits_, events);
      if (!r.ok()) return r.status();
      return reply_value(*r);
    }
    if (op == "sync.renew" || op == "sync.release") {
      auto token = u64_of(args.find("token"));
      if (!token) return Status(invalid_argument(op + ": needs token"));
      if (op == "sync.release") {
        NITRO_TRY(rules::release(name, lock, *token, ctx.sender, ctx.time_ms, ctx.revision, events));
        return Value(Map{});
      }
      auto lease = rules::renew(name, lock, *token, ctx.sender, ctx.time_ms, ctx.revision, events);
      if (!lease.ok()) return lease.status();
      return Value(Map{{Value("token"), Value(lease->token)}, {Value("expiresMs"), Value(lease->expires_ms)}});
    }
    if (op == "sync.put") return fenced_put(args, name, lock, ctx, events);
    if (op == "sync.cancel") {
      rules::cancel(name, lock, Owner{ctx.sender, ref}, ctx.time_ms, ctx.revision, events);
      return Value(Map{});
    }
    return Status(Code::kNotFound, "sync: unknown op " + op);
  }

  // Writes a user key only while `token` holds the lock for the sender: a holder whose lease
  // lapsed is refused even before anyone else took the lock. The write lands after this returns
  // (apply stores the lock, then the caller's view commits both), so keep it in `pending_put_`.
  Result<Value> fenced_put(const Value& args, const std::string& name, LockState& lock,
                           const chain::TxContext& ctx, std::vector<SyncEvent>& events) {
    auto token = u64_of(args.find("token"));
    const Value* key = args.find("key");
    const Value* value = args.find("value");
    if (!token || !key || !key->is<std::string>() || !value) return Status(invalid_argument("sync.put: needs token, key, value"));
    const std::string& k = key->as<std::string>();
    if (k.empty() || k[0] == '\0') return Status(invalid_argument("sync.put: keys starting with NUL are reserved"));
    rules::settle(name, lock, ctx.time_ms, ctx.revision, events);
    if (!lock.holder || lock.holder->token != *token || lock.holder->owner.node != ctx.sender) {
      return Status(failed_precondition("fenced: token " + std::to_string(*token) + " no longer holds " + name));
    }
    pending_put_ = std::make_pair(k, *value);
    return Value(Map{{Value("token"), Value(*token)}});
  }

  static Result<LockState> load(const chain::KvState& s, const std::string& name) {
    const chain::KvEntry* e = s.get(lock_state_key(name));
    if (!e) return LockState{};
    return decode_lock(e->value);
  }

  static std::uint64_t count(const chain::KvState& s) {
    const chain::KvEntry* e = s.get(kCountKey);
    return e ? u64_of(&e->value).value_or(0) : 0;
  }

  // Writes the lock back (or erases it when idle) and moves its deadline index entry.
  static Status store(chain::KvState& s, const std::string& name, const LockState& lock, bool existed,
                      std::optional<std::uint64_t> due_before) {
    const std::optional<std::uint64_t> due_after = rules::next_deadline(lock);
    if (due_before != due_after) {
      if (due_before) s.erase(due_key(*due_before, name));
      if (due_after) NITRO_TRY(s.put(due_key(*due_after, name), Value()));
    }
    if (rules::idle(lock)) {
      if (existed) {
        s.erase(lock_state_key(name));
        NITRO_TRY(s.put(kCountKey, Value(count(s) - 1)));
      }
      return {};
    }
    if (!existed) NITRO_TRY(s.put(kCountKey, Value(count(s) + 1)));
    return s.put(lock_state_key(name), encode_lock(lock));
  }

  SyncLimits limits_;
  std::optional<std::pair<std::string, Value>> pending_put_;  // sync.put's write, within one apply
};

}  // namespace

std::string lock_state_key(const std::string& name) { return kLockPrefix + name; }

Value encode_lock(const LockState& lock) {
  Value holder;
  if (lock.holder) {
    const Lease& h = *lock.holder;
    Array row = owner_value(h.owner).as<Array>();
    for (std::uint64_t x : {h.token, h.ttl_ms, h.expires_ms}) row.push_back(Value(x));
    holder = Value(std::move(row));
  }
  Array waiters;
  for (const Waiter& w : lock.waiters) {
    Array row = owner_value(w.owner).as<Array>();
    row.push_back(Value(w.ttl_ms));
    row.push_back(Value(w.wait_until_ms));
    waiters.push_back(Value(std::move(row)));
  }
  return Value(Map{{Value("h"), std::move(holder)}, {Value("w"), Value(std::move(waiters))},
                   {Value("t"), Value(lock.last_token)}});
}

Result<LockState> decode_lock(const Value& value) {
  const Value* h = value.find("h");
  const Value* w = value.find("w");
  auto last = u64_of(value.find("t"));
  if (!h || !w || !w->is<Array>() || !last) return Status(decode_error("sync: bad lock state"));
  LockState lock;
  lock.last_token = *last;
  if (!h->is_nil()) {
    Owner owner;
    auto row = decode_row(*h, 3, owner);
    if (!row.ok()) return row.status();
    lock.holder = Lease{owner, (*row)[0], (*row)[1], (*row)[2]};
  }
  for (const Value& v : w->as<Array>()) {
    Owner owner;
    auto row = decode_row(v, 2, owner);
    if (!row.ok()) return row.status();
    lock.waiters.push_back({owner, (*row)[0], (*row)[1]});
  }
  return lock;
}

std::shared_ptr<chain::BuiltinModule> make_sync_module(SyncLimits limits) {
  return std::make_shared<SyncModule>(limits);
}

}  // namespace nitro::sync
