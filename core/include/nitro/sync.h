// nitro::sync — distributed locks with fencing tokens and leader election, as a deterministic
// state machine executed by a replicated log (the chain).
//
// Contract:
//   * Deterministic: no clock, no entropy, no I/O. Every operation carries the committed context of
//     the transaction that runs it (TxContext): the block time, the sender's verified node id and
//     the commit revision. Replicas that apply the same committed operations in the same order hold
//     the same table, so acquire / renew / release are as linearizable as the log that orders them.
//   * Time is committed chain time (TxContext::time_ms / advance()), never a local clock: a lease
//     expires when a block whose time is at or past its expiry is applied, on every replica alike.
//   * Tokens are commit revisions: the token of a grant is the revision of the operation (or block)
//     that made it, so tokens of one lock strictly increase. The term of a leader is its token.
//   * Waiters queue FIFO in commit order of their acquire; a release or an expiry grants the lock to
//     exactly one waiter (the oldest whose wait has not run out), never to all of them.
//   * Only the holder (the sender that acquired it, with the current token) may renew or release;
//     anyone else gets kPermissionDenied.
//   * Every collection is bounded (SyncLimits); a request past a bound is refused as a value.
//
// Fencing: a token protects a resource only if the resource checks it (rejects a write whose token
// is lower than the highest it has seen). Nitro's own kv.cas does (ifTokenAtLeast); anything outside
// Nitro must do the same, or a holder paused past its lease can still write.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "nitro/chain_exec.h"
#include "nitro/identity.h"
#include "nitro/status.h"
#include "nitro/value.h"

namespace nitro::sync {

struct SyncLimits {
  std::size_t locks_max = 1u << 16;          // distinct lock names with a holder or waiters
  std::size_t waiters_per_lock_max = 1024;   // queued acquires on one lock
  std::size_t name_bytes_max = 256;
  std::uint64_t ttl_ms_max = 24ull * 3600 * 1000;
  std::uint64_t wait_ms_max = 24ull * 3600 * 1000;
};

// The committed context of the operation being applied (the chain's): block height and time
// (never decreasing), the tx's verified signer, its commit revision (strictly increasing).
using TxContext = chain::TxContext;

// A client within a node: one node may hold several lock handles, told apart by `ref`.
struct Owner {
  PeerId node;
  std::uint64_t ref = 0;
  friend bool operator==(const Owner&, const Owner&) = default;
};

struct Lease {
  Owner owner;
  std::uint64_t token = 0;       // the revision that granted it
  std::uint64_t ttl_ms = 0;
  std::uint64_t expires_ms = 0;  // committed time at which it lapses
};

struct Waiter {
  Owner owner;
  std::uint64_t ttl_ms = 0;
  std::uint64_t wait_until_ms = 0;  // dropped from the queue once committed time reaches this
};

struct LockState {
  std::optional<Lease> holder;
  std::deque<Waiter> waiters;  // FIFO by commit order of the acquire
  std::uint64_t last_token = 0;
};

enum class AcquireOutcome : std::uint8_t {
  kGranted = 1,  // `lease` is the new (or already held) lease
  kQueued = 2,   // waiting at `position` (0 = next)
  kBusy = 3,     // held by someone else and wait_ms was 0
};

struct AcquireReply {
  AcquireOutcome outcome = AcquireOutcome::kBusy;
  Lease lease;                // kGranted
  std::size_t position = 0;   // kQueued
};

// What happened to a lock besides the direct reply: a waiter was granted the lock (its client
// learns of it through this), a lease lapsed, a waiter's wait ran out.
struct SyncEvent {
  enum class Kind : std::uint8_t { kGranted = 1, kExpired = 2, kWaitTimedOut = 3, kReleased = 4 };
  Kind kind = Kind::kGranted;
  std::string name;
  Owner owner;
  std::uint64_t token = 0;       // kGranted / kExpired / kReleased: the lease's token
  std::uint64_t expires_ms = 0;  // kGranted
};

// The rules for one lock, on that lock's state alone. LockTable applies them per name in memory;
// the chain module (make_sync_module) applies them to state it keeps in the chain's KvState.
// Each first settles the lock at `time_ms` (lapsed leases, waits that ran out), appends what
// happened to `events`, and grants with token `revision`.
namespace rules {
void settle(const std::string& name, LockState& lock, std::uint64_t time_ms, std::uint64_t revision,
            std::vector<SyncEvent>& events);
Result<AcquireReply> acquire(const std::string& name, LockState& lock, const Owner& owner, std::uint64_t ttl_ms,
                             std::uint64_t wait_ms, std::uint64_t time_ms, std::uint64_t revision,
                             const SyncLimits& limits, std::vector<SyncEvent>& events);
Result<Lease> renew(const std::string& name, LockState& lock, std::uint64_t token, const PeerId& sender,
                    std::uint64_t time_ms, std::uint64_t revision, std::vector<SyncEvent>& events);
Status release(const std::string& name, LockState& lock, std::uint64_t token, const PeerId& sender,
               std::uint64_t time_ms, std::uint64_t revision, std::vector<SyncEvent>& events);
void cancel(const std::string& name, LockState& lock, const Owner& owner, std::uint64_t time_ms,
            std::uint64_t revision, std::vector<SyncEvent>& events);
Status check_request(const std::string& name, std::uint64_t ttl_ms, std::uint64_t wait_ms, const SyncLimits& limits);
Status check_name(const std::string& name, const SyncLimits& limits);
bool idle(const LockState& lock);
// The earliest committed time at which settle() would change the lock, if any.
std::optional<std::uint64_t> next_deadline(const LockState& lock);
}  // namespace rules

class LockTable {
 public:
  explicit LockTable(SyncLimits limits = {}) : limits_(limits) {}

  // Take the lock for `ttl_ms` of committed time, or queue for at most `wait_ms` (0: do not queue).
  // Idempotent per owner: repeating it returns the owner's current lease or queue position.
  Result<AcquireReply> acquire(const std::string& name, std::uint64_t ref, std::uint64_t ttl_ms,
                               std::uint64_t wait_ms, const TxContext& ctx);
  // Extend the holder's lease to ttl_ms from now; kPermissionDenied unless sender holds `token`.
  Result<Lease> renew(const std::string& name, std::uint64_t token, const TxContext& ctx);
  // Give the lock up; the oldest live waiter is granted it. kPermissionDenied unless the sender
  // holds `token`.
  Status release(const std::string& name, std::uint64_t token, const TxContext& ctx);
  // Leave the queue (an aborted wait). No-op when the owner is not waiting.
  void cancel(const std::string& name, std::uint64_t ref, const TxContext& ctx);
  // Apply committed time at the start of a block: lapse leases, drop timed-out waiters, grant.
  void advance(std::uint64_t time_ms, std::uint64_t revision);

  const LockState* find(const std::string& name) const;
  std::size_t size() const { return locks_.size(); }
  // Events since the last call, in the order they happened.
  std::vector<SyncEvent> take_events();

 private:
  void forget_if_idle(const std::string& name);
  void note_revision(std::uint64_t revision);

  SyncLimits limits_;
  std::map<std::string, LockState> locks_;
  std::vector<SyncEvent> events_;
  std::uint64_t last_revision_ = 0;
};

// ---- on the chain -------------------------------------------------------------------------------
// The lock rules as the chain's built-in "sync" module (register under prefix "sync"). Ops take and
// return msgpack maps; the sender is the tx's verified signer, time and revision its block's:
//   sync.acquire {name, ttlMs, waitMs?=0, ref?=0} -> {outcome: "granted"|"queued"|"busy",
//                                                     token, expiresMs | position}
//   sync.renew   {name, token}                     -> {token, expiresMs}; PERMISSION_DENIED unless holder
//   sync.release {name, token}                     -> {}; PERMISSION_DENIED unless holder
//   sync.cancel  {name, ref?=0}                    -> {}
//   sync.put     {name, token, key, value}         -> {token}; writes user `key` only while the
//                sender holds `token` (FAILED_PRECONDITION otherwise): strict fencing, refused
//                from the moment the lease lapses, before anyone else takes the lock
// A waiter granted the lock later (a release, a lapse) learns it from the lock's state:
// lock_state_key(name) holds encode_lock(state), readable through the chain's committed state.
// begin_block settles only the locks that are due, found through an index of deadlines.
std::shared_ptr<chain::BuiltinModule> make_sync_module(SyncLimits limits = {});

std::string lock_state_key(const std::string& name);
Value encode_lock(const LockState& lock);
// Total: any Value gives a LockState or kDecodeError (the state is written only by the module, but
// a decoder never trusts its input).
Result<LockState> decode_lock(const Value& value);

}  // namespace nitro::sync
