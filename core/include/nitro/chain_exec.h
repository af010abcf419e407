// The chain's execution seam: how committed transactions change the replicated key/value state.
//
// Contract:
//   * Deterministic: a module sees only the state, the op name, the arguments and the context
//     (block height, block time, the sender's verified PeerId, the tx's revision). No clock, no
//     entropy, no I/O, no iteration in pointer or hash order. Every honest validator applies the
//     same committed transactions in the same order and must reach the same state root; a module
//     that does not is detected (state roots diverge) and halts the chain at that height.
//   * Atomic per transaction: apply() runs against a transactional view. If it returns an error
//     Status every write it made is discarded and the error becomes the tx's result (the tx stays
//     in the block; the submitter sees the error). If it returns a Value, the writes commit.
//   * Ops are named "<module>.<name>" ("kv.put", "sync.lock"); a module registered under
//     "sync" receives every op whose prefix is "sync." and gets the full op name in `op`. An op
//     without a dot ("transfer") goes to the module registered under exactly that name.
//   * begin_block runs once per committed block, before its first tx, with the block's context
//     (lease expiry and other time-driven work belongs there; its writes carry revision
//     BlockContext::revision).
//   * Revisions: every tx (and every begin_block that writes) gets a fresh revision, globally
//     monotonic over the chain's history, starting at 1. A key's mod_revision is the revision of the last write;
//     that is what kv.cas compares and what fencing tokens are made of.
//   * Bounds: keys are 1..kKeyBytesMax bytes, values at most kValueBytesMax encoded bytes;
//     KvState::put returns kInvalidArgument beyond them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nitro/identity.h"
#include "nitro/status.h"
#include "nitro/value.h"

namespace nitro::chain {

inline constexpr std::size_t kKeyBytesMax = 1024;
inline constexpr std::size_t kValueBytesMax = 256 * 1024;
inline constexpr std::size_t kScanLimitMax = 10000;

struct KvEntry {
  Value value;
  std::uint64_t create_revision = 0;  // revision that created the key (since its last delete)
  std::uint64_t mod_revision = 0;     // revision of the last write
  std::uint64_t version = 0;          // writes since creation, 1 after the first put
};

// The replicated state as a module sees it. Reads see the transaction's own writes.
class KvState {
 public:
  virtual ~KvState() = default;
  // nullptr when absent. The pointer is valid until the next write through this state.
  virtual const KvEntry* get(std::string_view key) const = 0;
  virtual Status put(std::string_view key, Value value) = 0;
  // true if the key existed.
  virtual bool erase(std::string_view key) = 0;
  // Keys >= `start` that begin with `prefix`, ascending, at most min(limit, kScanLimitMax).
  virtual std::vector<std::pair<std::string, KvEntry>> scan(std::string_view prefix, std::string_view start,
                                                            std::size_t limit) const = 0;
  // The revision writes made now will carry.
  virtual std::uint64_t revision() const = 0;
};

struct BlockContext {
  std::uint64_t height = 0;
  std::uint64_t time_ms = 0;   // the proposer's block time (ms since the Unix epoch), monotonic
  PeerId proposer;
  std::uint64_t revision = 0;  // the revision begin_block's writes carry
};

struct TxContext {
  std::uint64_t height = 0;
  std::uint64_t time_ms = 0;   // the block's time
  PeerId sender;               // verified: the tx is signed by this key
  std::uint64_t revision = 0;  // this tx's revision (globally monotonic)
};

class BuiltinModule {
 public:
  virtual ~BuiltinModule() = default;
  virtual Result<Value> apply(KvState& state, const std::string& op, const Value& args, const TxContext& ctx) = 0;
  virtual void begin_block(KvState& state, const BlockContext& ctx) { (void)state; (void)ctx; }
};

// Registry of modules by prefix ("kv" is built in; "sync" is the lock/lease/leader module).
// kAlreadyExists when the prefix is taken, kInvalidArgument for an empty prefix or one with '.'.
class ModuleRegistry {
 public:
  virtual ~ModuleRegistry() = default;
  virtual Status register_module(const std::string& prefix, std::shared_ptr<BuiltinModule> module) = 0;
};

}  // namespace nitro::chain
