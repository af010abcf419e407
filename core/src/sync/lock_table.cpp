// The lock table: see nitro/sync.h for the contract. Every operation first settles the lock at the
// operation's committed time, so a lease that lapsed between blocks is gone before anyone acts.
#include <algorithm>

#include "nitro/assert.h"
#include "nitro/sync.h"

namespace nitro::sync {

namespace {

bool same_owner(const Owner& a, const Owner& b) { return a.node == b.node && a.ref == b.ref; }

std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) {
  return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

}  // namespace

Status LockTable::check_name(const std::string& name) const {
  if (name.empty() || name.size() > limits_.name_bytes_max) return invalid_argument("lock name must be 1..256 bytes");
  return {};
}

void LockTable::note_revision(std::uint64_t revision) {
  // Tokens are revisions; a revision that does not increase would hand out a token twice.
  NITRO_ASSERT(revision > last_revision_);
  last_revision_ = revision;
}

void LockTable::grant_next(const std::string& name, LockState& lock, std::uint64_t time_ms,
                           std::uint64_t revision) {
  NITRO_ASSERT(!lock.holder.has_value());
  if (lock.waiters.empty()) return;
  Waiter next = lock.waiters.front();
  lock.waiters.pop_front();
  NITRO_ASSERT(revision > lock.last_token);
  lock.holder = Lease{next.owner, revision, next.ttl_ms, saturating_add(time_ms, next.ttl_ms)};
  lock.last_token = revision;
  events_.push_back({SyncEvent::Kind::kGranted, name, next.owner, revision, lock.holder->expires_ms});
}

void LockTable::settle(const std::string& name, LockState& lock, std::uint64_t time_ms,
                       std::uint64_t revision) {
  // Waiters whose wait ran out leave first, so a lapse never grants to someone who gave up.
  while (true) {
    auto it = std::find_if(lock.waiters.begin(), lock.waiters.end(),
                           [&](const Waiter& w) { return w.wait_until_ms <= time_ms; });
    if (it == lock.waiters.end()) break;
    events_.push_back({SyncEvent::Kind::kWaitTimedOut, name, it->owner, 0, 0});
    lock.waiters.erase(it);
  }
  if (lock.holder && lock.holder->expires_ms <= time_ms) {
    events_.push_back({SyncEvent::Kind::kExpired, name, lock.holder->owner, lock.holder->token, 0});
    lock.holder.reset();
  }
  if (!lock.holder) grant_next(name, lock, time_ms, revision);
}

void LockTable::forget_if_idle(const std::string& name) {
  auto it = locks_.find(name);
  if (it != locks_.end() && !it->second.holder && it->second.waiters.empty()) locks_.erase(it);
}

Result<AcquireReply> LockTable::acquire(const std::string& name, std::uint64_t ref, std::uint64_t ttl_ms,
                                        std::uint64_t wait_ms, const TxContext& ctx) {
  NITRO_TRY(check_name(name));
  if (ttl_ms == 0 || ttl_ms > limits_.ttl_ms_max) return Status(invalid_argument("ttl_ms out of range"));
  if (wait_ms > limits_.wait_ms_max) return Status(invalid_argument("wait_ms out of range"));
  note_revision(ctx.revision);
  if (!locks_.count(name) && locks_.size() >= limits_.locks_max) {
    return Status(resource_exhausted("too many locks"));
  }
  const Owner owner{ctx.sender, ref};
  LockState& lock = locks_[name];
  settle(name, lock, ctx.time_ms, ctx.revision);
  AcquireReply reply;
  if (!lock.holder) {
    NITRO_ASSERT(lock.waiters.empty());
    lock.holder = Lease{owner, ctx.revision, ttl_ms, saturating_add(ctx.time_ms, ttl_ms)};
    lock.last_token = ctx.revision;
    reply.outcome = AcquireOutcome::kGranted;
    reply.lease = *lock.holder;
    return reply;
  }
  if (same_owner(lock.holder->owner, owner)) {
    reply.outcome = AcquireOutcome::kGranted;
    reply.lease = *lock.holder;
    return reply;
  }
  for (std::size_t i = 0; i < lock.waiters.size(); ++i) {
    if (same_owner(lock.waiters[i].owner, owner)) {
      reply.outcome = AcquireOutcome::kQueued;
      reply.position = i;
      return reply;
    }
  }
  if (wait_ms == 0) {
    reply.outcome = AcquireOutcome::kBusy;
    return reply;
  }
  if (lock.waiters.size() >= limits_.waiters_per_lock_max) return Status(resource_exhausted("too many waiters"));
  lock.waiters.push_back({owner, ttl_ms, saturating_add(ctx.time_ms, wait_ms)});
  reply.outcome = AcquireOutcome::kQueued;
  reply.position = lock.waiters.size() - 1;
  return reply;
}

Result<Lease> LockTable::renew(const std::string& name, std::uint64_t token, const TxContext& ctx) {
  NITRO_TRY(check_name(name));
  note_revision(ctx.revision);
  auto it = locks_.find(name);
  if (it == locks_.end()) return Status(permission_denied("not the holder of " + name));
  settle(name, it->second, ctx.time_ms, ctx.revision);
  auto& holder = it->second.holder;
  if (!holder || holder->token != token || holder->owner.node != ctx.sender) {
    forget_if_idle(name);
    return Status(permission_denied("not the holder of " + name));
  }
  holder->expires_ms = saturating_add(ctx.time_ms, holder->ttl_ms);
  return *holder;
}

Status LockTable::release(const std::string& name, std::uint64_t token, const TxContext& ctx) {
  NITRO_TRY(check_name(name));
  note_revision(ctx.revision);
  auto it = locks_.find(name);
  if (it == locks_.end()) return permission_denied("not the holder of " + name);
  LockState& lock = it->second;
  settle(name, lock, ctx.time_ms, ctx.revision);
  if (!lock.holder || lock.holder->token != token || lock.holder->owner.node != ctx.sender) {
    forget_if_idle(name);
    return permission_denied("not the holder of " + name);
  }
  events_.push_back({SyncEvent::Kind::kReleased, name, lock.holder->owner, token, 0});
  lock.holder.reset();
  grant_next(name, lock, ctx.time_ms, ctx.revision);
  forget_if_idle(name);
  return {};
}

void LockTable::cancel(const std::string& name, std::uint64_t ref, const TxContext& ctx) {
  note_revision(ctx.revision);
  auto it = locks_.find(name);
  if (it == locks_.end()) return;
  settle(name, it->second, ctx.time_ms, ctx.revision);
  const Owner owner{ctx.sender, ref};
  auto& waiters = it->second.waiters;
  waiters.erase(std::remove_if(waiters.begin(), waiters.end(),
                               [&](const Waiter& w) { return same_owner(w.owner, owner); }),
                waiters.end());
  forget_if_idle(name);
}

void LockTable::advance(std::uint64_t time_ms, std::uint64_t revision) {
  note_revision(revision);
  std::vector<std::string> idle;
  for (auto& [name, lock] : locks_) {
    settle(name, lock, time_ms, revision);
    if (!lock.holder && lock.waiters.empty()) idle.push_back(name);
  }
  for (const auto& name : idle) locks_.erase(name);
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
