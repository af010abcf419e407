// The replicated key/value state and the executor that applies committed txs to it.
// Deterministic: ordered maps only. The tree is a binary Merkle tree over the leaves in key order
// (leaf = H(0x00 | msgpack key | msgpack value | msgpack create_revision | msgpack mod_revision |
// msgpack version), node = H(0x01 | left | right), an odd node is promoted unchanged, the empty
// tree's root is 32 zero bytes). The state root is H(0x02 | msgpack revision | tree root): it
// commits to everything a read or a fencing token relies on (each entry's value and revisions,
// and the executor's revision the next tx continues from), so a state sync installs nothing
// unverified and a light client's proof shows a key's full entry.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nitro/chain_exec.h"

namespace nitro::consensus {

using Hash = std::array<std::uint8_t, 32>;

Hash sha256(std::span<const std::uint8_t> bytes);
Hash leaf_hash(std::string_view key, const chain::KvEntry& entry);
Hash node_hash(const Hash& left, const Hash& right);
Hash state_root(std::uint64_t revision, const Hash& tree_root);

class KvStore {
 public:
  const chain::KvEntry* get(std::string_view key) const;
  void set(const std::string& key, chain::KvEntry entry);
  void erase(const std::string& key);
  const std::map<std::string, chain::KvEntry, std::less<>>& entries() const { return kv_; }
  // The tree's root. Incremental: a value change rehashes only its leaf's path; a key added or
  // removed (which shifts the leaves after it) rebuilds the tree once, at the next root().
  Hash root() const;

 private:
  struct Leaf {
    Hash hash;
    std::size_t index = 0;  // position in key order, valid while !reshaped_
  };
  void rebuild() const;
  void update() const;

  std::map<std::string, chain::KvEntry, std::less<>> kv_;
  mutable std::map<std::string, Leaf, std::less<>> leaves_;
  mutable std::vector<std::vector<Hash>> levels_;  // the tree, leaves first
  mutable std::vector<std::size_t> dirty_;         // leaves rehashed since the last root()
  mutable bool reshaped_ = false;
};

// A transaction's view: reads see its own writes; commit() applies them, dropping discards.
class TxView final : public chain::KvState {
 public:
  TxView(KvStore& base, std::uint64_t revision) : base_(base), revision_(revision) {}
  const chain::KvEntry* get(std::string_view key) const override;
  Status put(std::string_view key, Value value) override;
  bool erase(std::string_view key) override;
  std::vector<std::pair<std::string, chain::KvEntry>> scan(std::string_view prefix, std::string_view start,
                                                           std::size_t limit) const override;
  std::uint64_t revision() const override { return revision_; }
  bool wrote() const { return !writes_.empty(); }
  void commit();

 private:
  KvStore& base_;
  std::uint64_t revision_;
  std::map<std::string, std::optional<chain::KvEntry>, std::less<>> writes_;
};

struct TxOp {
  std::string op;
  Value args;
};

struct TxOutcome {
  Hash id{};  // the op's id (op_ids)
  PeerId sender;
  std::string op;  // the op's name
  bool ok = false;
  Value result;
  Status error;
};

struct Tx;

class Executor {
 public:
  Executor();
  Status register_module(const std::string& prefix, std::shared_ptr<chain::BuiltinModule> module);
  // Applies a committed block's txs (encoded, signatures already checked by the voters): one
  // outcome per op, in order. decoded[i], when given and not null, is txs[i] already decoded (at
  // mempool admission), so it is not decoded again.
  std::vector<TxOutcome> execute(const chain::BlockContext& block, const std::vector<Bytes>& txs,
                                 const std::vector<const Tx*>& decoded = {});
  const KvStore& store() const { return store_; }
  // Replaces the state with a snapshot's entries (key order) and executor revision.
  void install(const std::vector<std::pair<std::string, chain::KvEntry>>& entries, std::uint64_t revision);
  std::uint64_t revision() const { return revision_; }
  Hash root() const { return state_root(revision_, store_.root()); }  // the state root

 private:
  void apply_tx(const chain::TxContext& ctx, const Bytes& bytes, const Tx& tx, std::vector<TxOutcome>& out);
  TxOutcome apply_op(const chain::TxContext& ctx, const TxOp& op);

  KvStore store_;
  std::uint64_t revision_ = 0;
  std::map<std::string, std::shared_ptr<chain::BuiltinModule>> modules_;
};

// The built-in "kv" module: kv.put, kv.delete, kv.cas, kv.batch.
std::shared_ptr<chain::BuiltinModule> make_kv_module();

// Encoded txs, two forms:
//   single [sender bin32, nonce u64, op str, args, signature bin64], signed over
//          msgpack(["nitro-tx", sender, nonce, op, args]); its one op's id is sha256(encoded tx).
//   bundle [sender bin32, nonce u64, [[op str, args]...], signature bin64], signed over
//          msgpack(["nitro-txs", sender, nonce, [[op, args]...]]): one signature for up to
//          kBundleOpsMax ops a node queued between two ticks (signing and verifying once per op
//          was most of a tx's cost). Op i has nonce + i and id op_id(sender, nonce + i); the ops
//          execute in order, each on its own (one failing does not undo the others).
// The mempool, blocks and dedup deal in encoded txs (either form), ids sha256(encoded).
inline constexpr std::size_t kBundleOpsMax = 1024;
inline constexpr std::size_t kBundleBytesMax = 512 * 1024;

struct Tx {
  PeerId sender;
  std::uint64_t nonce = 0;
  std::vector<TxOp> ops;  // one for the single form
  Bytes signature;
  bool bundle = false;
};
Result<Tx> decode_tx(std::span<const std::uint8_t> bytes);
bool verify_tx(const Tx& tx);
Bytes encode_signed_tx(const crypto::Identity& id, std::uint64_t nonce, const std::string& op, const Value& args);
Bytes encode_signed_bundle(const crypto::Identity& id, std::uint64_t nonce, const std::vector<TxOp>& ops);
Hash op_id(const PeerId& sender, std::uint64_t nonce);
// The ids of a decoded tx's ops, in order (`encoded` is the tx's bytes, for the single form).
std::vector<Hash> op_ids(const Tx& tx, std::span<const std::uint8_t> encoded);

}  // namespace nitro::consensus
