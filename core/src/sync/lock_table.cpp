// The lock rules and the in-memory lock table: see nitro/sync.h for the contract. Every operation
// first settles the lock at the operation's committed time, so a lease that lapsed between blocks
// is gone before anyone acts on it.
#include <algorithm>

#include "nitro/assert.h"
#include "nitro/sync.h"

namespace nitro::sync {

namespace {

std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) {
  return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

bool holds(const LockState& lock, std::uint64_t token, const PeerId& sender) {
  return lock.holder && lock.holder->token == token && lock.holder->owner.node == sender;
}

void grant_next(const std::string& name, LockState& lock, std::uint64_t time_ms, std::uint64_t revision,
                std::vector<SyncEvent>& events) {
  NITRO_ASSERT(!lock.holder.has_value());
  if (lock.waiters.empty()) return;
  const Waiter next = lock.waiters.front();
  lock.waiters.pop_front();
  // Tokens are revisions; one that does not increase would hand out a term twice.
  NITRO_ASSERT(revision > lock.last_token);
  lock.holder = Lease{next.owner, revision, next.ttl_ms, saturating_add(time_ms, next.ttl_ms)};
  lock.last_token = revision;
  events.push_back({SyncEvent::Kind::kGranted, name, next.owner, revision, lock.holder->expires_ms});
}

}  // namespace

namespace rules {

Status check_name(const std::string& name, const SyncLimits& limits) {
  if (name.empty() || name.size() > limits.name_bytes_max) return invalid_argument("lock name must be 1..256 bytes");
  return {};
}

Status check_request(const std::string& name, std::uint64_t ttl_ms, std::uint64_t wait_ms, const SyncLimits& limits) {
  NITRO_TRY(check_name(name, limits));
  if (ttl_ms == 0 || ttl_ms > limits.ttl_ms_max) return invalid_argument("ttl_ms out of range");
  if (wait_ms > limits.wait_ms_max) return invalid_argument("wait_ms out of range");
  return {};
}

bool idle(const LockState& lock) { return !lock.holder && lock.waiters.empty(); }

std::optional<std::uint64_t> next_deadline(const LockState& lock) {
  std::optional<std::uint64_t> at;
  if (lock.holder) at = lock.holder->expires_ms;
  for (const Waiter& w : lock.waiters) at = std::min(at.value_or(UINT64_MAX), w.wait_until_ms);
  return at;
}

void settle(const std::string& name, LockState& lock, std::uint64_t time_ms, std::uint64_t revision,
            std::vector<SyncEvent>& events) {
  // Waiters whose wait ran out leave first, so a lapse never grants to someone who gave up.
  for (auto it = lock.waiters.begin(); it != lock.waiters.end();) {
    if (it->wait_until_ms > time_ms) { ++it; continue; }
    events.push_back({SyncEvent::Kind::kWaitTimedOut, name, it->owner, 0, 0});
    it = lock.waiters.erase(it);
  }
  if (lock.holder && lock.holder->expires_ms <= time_ms) {
    events.push_back({SyncEvent::Kind::kExpired, name, lock.holder->owner, lock.holder->token, 0});
    lock.holder.reset();
  }
  if (!lock.holder) grant_next(name, lock, time_ms, revision, events);
}

Result<AcquireReply> acquire(const std::string& name, LockState& lock, const Owner& owner, std::uint64_t ttl_ms,
                             std::uint64_t wait_ms, std::uint64_t time_ms, std::uint64_t revision,
                             const SyncLimits& limits, std::vector<SyncEvent>& events) {
  NITRO_TRY(check_request(name, ttl_ms, wait_ms, limits));
  settle(name, lock, time_ms, revision, events);
  AcquireReply reply;
  if (!lock.holder) {
    NITRO_ASSERT(lock.waiters.empty());
    NITRO_ASSERT(revision > lock.last_token);
    lock.holder = Lease{owner, revision, ttl_ms, saturating_add(time_ms, ttl_ms)};
    lock.last_token = revision;
    reply.outcome = AcquireOutcome::kGranted;
    reply.lease = *lock.holder;
    return reply;
  }
  if (lock.holder->owner == owner) {  // a retried request: the same answer again
    reply.outcome = AcquireOutcome::kGranted;
    reply.lease = *lock.holder;
    return reply;
  }
  for (std::size_t i = 0; i < lock.waiters.size(); ++i) {
    if (lock.waiters[i].owner == owner) {
      reply.outcome = AcquireOutcome::kQueued;
      reply.position = i;
      return reply;
    }
  }
  if (wait_ms == 0) {
    reply.outcome = AcquireOutcome::kBusy;
    return reply;
  }
  if (lock.waiters.size() >= limits.waiters_per_lock_max) return Status(resource_exhausted("too many waiters"));
  lock.waiters.push_back({owner, ttl_ms, saturating_add(time_ms, wait_ms)});
  reply.outcome = AcquireOutcome::kQueued;
  reply.position = lock.waiters.size() - 1;
  return reply;
}

Result<Lease> renew(const std::string& name, LockState& lock, std::uint64_t token, const PeerId& sender,
                    std::uint64_t time_ms, std::uint64_t revision, std::vector<SyncEvent>& events) {
  settle(name, lock, time_ms, revision, events);
  if (!holds(lock, token, sender)) return Status(permission_denied("not the holder of " + name));
  lock.holder->expires_ms = saturating_add(time_ms, lock.holder->ttl_ms);
  return *lock.holder;
}

Status release(const std::string& name, LockState& lock, std::uint64_t token, const PeerId& sender,
               std::uint64_t time_ms, std::uint64_t revision, std::vector<SyncEvent>& events) {
  settle(name, lock, time_ms, revision, events);
  if (!holds(lock, token, sender)) return permission_denied("not the holder of " + name);
  events.push_back({SyncEvent::Kind::kReleased, name, lock.holder->owner, token, 0});
  lock.holder.reset();
  grant_next(name, lock, time_ms, revision, events);
  return {};
}

void cancel(const std::string& name, LockState& lock, const Owner& owner, std::uint64_t time_ms,
            std::uint64_t revision, std::vector<SyncEvent>& events) {
  settle(name, lock, time_ms, revision, events);
  std::erase_if(lock.waiters, [&](const Waiter& w) { return w.owner == owner; });
}

}  // namespace rules

void LockTable::note_revision(std::uint64_t revision) {
  NITRO_ASSERT(revision > last_revision_);
  last_revision_ = revision;
}

void LockTable::forget_if_idle(const std::string& name) {
  auto it = locks_.find(name);
  if (it != locks_.end() && rules::idle(it->second)) locks_.erase(it);
}

Result<AcquireReply> LockTable::acquire(const std::string& name, std::uint64_t ref, std::uint64_t ttl_ms,
                                        std::uint64_t wait_ms, const TxContext& ctx) {
  NITRO_TRY(rules::check_request(name, ttl_ms, wait_ms, limits_));
  note_revision(ctx.revision);
  if (!locks_.count(name) && locks_.size() >= limits_.locks_max) return Status(resource_exhausted("too many locks"));
  auto reply = rules::acquire(name, locks_[name], Owner{ctx.sender, ref}, ttl_ms, wait_ms, ctx.time_ms,
                              ctx.revision, limits_, events_);
  forget_if_idle(name);
  return reply;
}

Result<Lease> LockTable::renew(const std::string& name, std::uint64_t token, const TxContext& ctx) {
  NITRO_TRY(rules::check_name(name, limits_));
  note_revision(ctx.revision);
  auto it = locks_.find(name);
  if (it == locks_.end()) return Status(permission_denied("not the holder of " + name));
  auto lease = rules::renew(name, it->second, token, ctx.sender, ctx.time_ms, ctx.revision, events_);
  forget_if_idle(name);
  return lease;
}

Status LockTable::release(const std::string& name, std::uint64_t token, const TxContext& ctx) {
  NITRO_TRY(rules::check_name(name, limits_));
  note_revision(ctx.revision);
  auto it = locks_.find(name);
  if (it == locks_.end()) return permission_denied("not the holder of " + name);
  Status s = rules::release(name, it->second, token, ctx.sender, ctx.time_ms, ctx.revision, events_);
  forget_if_idle(name);
  return s;
}

void LockTable::cancel(const std::string& name, std::uint64_t ref, const TxContext& ctx) {
  note_revision(ctx.revision);
  auto it = locks_.find(name);
  if (it == locks_.end()) return;
  rules::cancel(name, it->second, Owner{ctx.sender, ref}, ctx.time_ms, ctx.revision, events_);
  forget_if_idle(name);
}

void LockTable::advance(std::uint64_t time_ms, std::uint64_t revision) {
  note_revision(revision);
  for (auto it = locks_.begin(); it != locks_.end();) {
    rules::settle(it->first, it->second, time_ms, revision, events_);
    it = rules::idle(it->second) ? locks_.erase(it) : std::next(it);
  }
}

const LockState* LockTable::find(const std::string& name) const {
  auto it = locks_.find(name);
  return it == locks_.end() ? nullptr : &it->second;
}

std::vector<SyncEvent> LockTable::take_events() {
  std::vector<SyncEvent> out;
  out.swap(events_);
  return out;
}

}  // namespace nitro::sync
