// The replicated key/value state and the executor that applies committed txs to it.
// Deterministic: ordered maps only; the state root is a binary Merkle tree over the leaves in
// key order (leaf = H(0x00 | key length | key | encoded value | mod revision), node =
// H(0x01 | left | right), an odd node is promoted unchanged, the empty root is 32 zero bytes).
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

class KvStore {
 public:
  const chain::KvEntry* get(std::string_view key) const;
  void set(const std::string& key, chain::KvEntry entry);
  void erase(const std::string& key);
  const std::map<std::string, chain::KvEntry, std::less<>>& entries() const { return kv_; }
  Hash root() const;

 private:
  std::map<std::string, chain::KvEntry, std::less<>> kv_;
  std::map<std::string, Hash, std::less<>> leaves_;
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
  void commit();

 private:
  KvStore& base_;
  std::uint64_t revision_;
  std::map<std::string, std::optional<chain::KvEntry>, std::less<>> writes_;
};

struct TxOutcome {
  Hash id{};
  PeerId sender;
  bool ok = false;
  Value result;
  Status error;
};

class Executor {
 public:
  Executor();
  Status register_module(const std::string& prefix, std::shared_ptr<chain::BuiltinModule> module);
  // Applies a committed block's txs (encoded, signatures already checked by the voters).
  std::vector<TxOutcome> execute(const chain::BlockContext& block, const std::vector<Bytes>& txs);
  const KvStore& store() const { return store_; }
  std::uint64_t revision() const { return revision_; }
  Hash root() const { return store_.root(); }

 private:
  TxOutcome apply_tx(const chain::TxContext& ctx, const Bytes& tx);

  KvStore store_;
  std::uint64_t revision_ = 0;
  std::map<std::string, std::shared_ptr<chain::BuiltinModule>> modules_;
};

// The built-in "kv" module: kv.put, kv.delete, kv.cas, kv.batch.
std::shared_ptr<chain::BuiltinModule> make_kv_module();

// Encoded tx: [sender bin32, nonce u64, op str, args, signature bin64], signed over
// msgpack(["nitro-tx", sender, nonce, op, args]).
struct Tx {
  PeerId sender;
  std::uint64_t nonce = 0;
  std::string op;
  Value args;
  Bytes signature;
};
Result<Tx> decode_tx(std::span<const std::uint8_t> bytes);
bool verify_tx(const Tx& tx);
Bytes encode_signed_tx(const crypto::Identity& id, std::uint64_t nonce, const std::string& op, const Value& args);

}  // namespace nitro::consensus
