// Replicated KV state, Merkle root, executor and the built-in kv module (see state.h).
#include "consensus/state.h"

#include <sodium.h>

#include <algorithm>

#include "nitro/assert.h"
#include "nitro/codec.h"
#include "nitro/auth.h"
#include "nitro/sync.h"

namespace nitro::consensus {

Hash sha256(std::span<const std::uint8_t> bytes) {
  Hash h{};
  crypto_hash_sha256(h.data(), bytes.data(), bytes.size());
  return h;
}

Hash leaf_hash(std::string_view key, const chain::KvEntry& entry) {
  Bytes buf;
  buf.push_back(0x00);
  codec::encode(Value(std::string(key)), buf);
  codec::encode(entry.value, buf);
  codec::encode(Value(entry.create_revision), buf);
  codec::encode(Value(entry.mod_revision), buf);
  codec::encode(Value(entry.version), buf);
  return sha256(buf);
}

Hash state_root(std::uint64_t revision, const Hash& tree_root) {
  Bytes buf;
  buf.push_back(0x02);
  codec::encode(Value(revision), buf);
  buf.insert(buf.end(), tree_root.begin(), tree_root.end());
  return sha256(buf);
}

Hash node_hash(const Hash& left, const Hash& right) {
  std::array<std::uint8_t, 65> buf{};
  buf[0] = 0x01;
  std::copy(left.begin(), left.end(), buf.begin() + 1);
  std::copy(right.begin(), right.end(), buf.begin() + 33);
  return sha256(buf);
}

const chain::KvEntry* KvStore::get(std::string_view key) const {
  auto it = kv_.find(key);
  return it == kv_.end() ? nullptr : &it->second;
}

void KvStore::set(const std::string& key, chain::KvEntry entry) {
  const Hash h = leaf_hash(key, entry);
  auto it = leaves_.find(key);
  if (it == leaves_.end()) {
    leaves_.emplace(key, Leaf{h, 0});
    reshaped_ = true;
  } else {
    it->second.hash = h;
    if (!reshaped_) {
      levels_[0][it->second.index] = h;
      dirty_.push_back(it->second.index);
    }
  }
  kv_[key] = std::move(entry);
}

void KvStore::erase(const std::string& key) {
  kv_.erase(key);
  if (leaves_.erase(key)) reshaped_ = true;
}

Hash KvStore::root() const {
  if (reshaped_) rebuild(); else if (!dirty_.empty()) update();
  if (levels_.empty() || levels_[0].empty()) return Hash{};
  return levels_.back()[0];
}

void KvStore::rebuild() const {
  levels_.assign(1, {});
  levels_[0].reserve(leaves_.size());
  for (auto& [k, leaf] : leaves_) {
    leaf.index = levels_[0].size();
    levels_[0].push_back(leaf.hash);
  }
  while (levels_.back().size() > 1) {
    const auto& level = levels_.back();
    std::vector<Hash> next;
    next.reserve(level.size() / 2 + 1);
    for (std::size_t i = 0; i + 1 < level.size(); i += 2) next.push_back(node_hash(level[i], level[i + 1]));
    if (level.size() % 2) next.push_back(level.back());
    levels_.push_back(std::move(next));
  }
  dirty_.clear();
  reshaped_ = false;
}

// Rehashes the parents of the dirty leaves, level by level (each parent once per level).
void KvStore::update() const {
  std::vector<std::size_t> cur = std::move(dirty_);
  dirty_.clear();
  for (std::size_t l = 0; l + 1 < levels_.size(); ++l) {
    std::sort(cur.begin(), cur.end());
    cur.erase(std::unique(cur.begin(), cur.end()), cur.end());
    const auto& level = levels_[l];
    for (auto& i : cur) {
      const std::size_t left = i & ~std::size_t{1};
      i /= 2;
      levels_[l + 1][i] = left + 1 < level.size() ? node_hash(level[left], level[left + 1]) : level[left];
    }
  }
}

const chain::KvEntry* TxView::get(std::string_view key) const {
  auto it = writes_.find(key);
  if (it != writes_.end()) return it->second ? &*it->second : nullptr;
  return base_.get(key);
}

Status TxView::put(std::string_view key, Value value) {
  if (key.empty() || key.size() > chain::kKeyBytesMax) return invalid_argument("kv: key must be 1..1024 bytes");
  if (codec::encode(value).size() > chain::kValueBytesMax) return invalid_argument("kv: value too large");
  chain::KvEntry e;
  const chain::KvEntry* old = get(key);
  e.create_revision = old ? old->create_revision : revision_;
  e.version = old ? old->version + 1 : 1;
  e.mod_revision = revision_;
  e.value = std::move(value);
  writes_[std::string(key)] = std::move(e);
  return Status::ok_status();
}

bool TxView::erase(std::string_view key) {
  const bool existed = get(key) != nullptr;
  writes_[std::string(key)] = std::nullopt;
  return existed;
}

std::vector<std::pair<std::string, chain::KvEntry>> TxView::scan(std::string_view prefix, std::string_view start,
                                                                 std::size_t limit) const {
  limit = std::min(limit, chain::kScanLimitMax);
  std::string from = std::max(std::string(prefix), std::string(start));
  std::map<std::string, chain::KvEntry> out;  // merge base and writes, then cut
  const auto& base = base_.entries();
  for (auto it = base.lower_bound(from); it != base.end() && it->first.starts_with(prefix); ++it) {
    if (out.size() >= limit + writes_.size()) break;
    out.emplace(it->first, it->second);
  }
  for (auto it = writes_.lower_bound(from); it != writes_.end() && it->first.starts_with(prefix); ++it) {
    if (it->second) out[it->first] = *it->second; else out.erase(it->first);
  }
  std::vector<std::pair<std::string, chain::KvEntry>> v;
  for (auto& [k, e] : out) {
    if (v.size() >= limit) break;
    v.emplace_back(k, e);
  }
  return v;
}

void TxView::commit() {
  for (auto& [k, e] : writes_) {
    if (e) base_.set(k, std::move(*e)); else base_.erase(k);
  }
  writes_.clear();
}

Executor::Executor() {
  modules_["kv"] = make_kv_module();
  modules_["sync"] = sync::make_sync_module();  // locks, leases, leader election (nitro/sync.h)
  modules_["auth"] = auth::make_chain_module();  // committed revocations (nitro/auth.h)
}

Status Executor::register_module(const std::string& prefix, std::shared_ptr<chain::BuiltinModule> module) {
  if (prefix.empty() || prefix.find('.') != std::string::npos) return invalid_argument("chain: bad module prefix");
  if (!module) return invalid_argument("chain: null module");
  if (!modules_.emplace(prefix, std::move(module)).second) return Status(Code::kAlreadyExists, "chain: module prefix taken");
  return Status::ok_status();
}

void Executor::install(const std::vector<std::pair<std::string, chain::KvEntry>>& entries, std::uint64_t revision) {
  store_ = KvStore();
  for (const auto& [k, e] : entries) store_.set(k, e);
  revision_ = revision;
}

std::vector<TxOutcome> Executor::execute(const chain::BlockContext& block, const std::vector<Bytes>& txs,
                                        const std::vector<const Tx*>& decoded) {
  chain::BlockContext b = block;
  b.revision = revision_ + 1;
  bool wrote = false;
  for (auto& [prefix, m] : modules_) {
    TxView view(store_, b.revision);
    m->begin_block(view, b);
    wrote = wrote || view.wrote();
    view.commit();
  }
  // Taken only when used: an empty block leaves the state, and so its root, as it was (a read
  // proof pairs the current root with a certified header carrying it, which a root that moved
  // with every block would never have).
  if (wrote) revision_ = b.revision;
  std::vector<TxOutcome> out;
  out.reserve(txs.size());
  const chain::TxContext context{block.height, block.time_ms, PeerId{}, 0};
  for (std::size_t i = 0; i < txs.size(); ++i) {
    if (i < decoded.size() && decoded[i]) {
      apply_tx(context, txs[i], *decoded[i], out);
      continue;
    }
    auto tx = decode_tx(txs[i]);
    if (tx.ok()) {
      apply_tx(context, txs[i], *tx, out);
      continue;
    }
    ++revision_;  // voters never accept one; kept total for the executor's own tests
    TxOutcome o;
    o.id = sha256(txs[i]);
    o.error = tx.status();
    out.push_back(std::move(o));
  }
  return out;
}

void Executor::apply_tx(const chain::TxContext& context, const Bytes& bytes, const Tx& tx, std::vector<TxOutcome>& out) {
  const auto ids = op_ids(tx, bytes);
  for (std::size_t i = 0; i < tx.ops.size(); ++i) {
    chain::TxContext ctx = context;
    ctx.sender = tx.sender;
    ctx.revision = ++revision_;
    TxOutcome o = apply_op(ctx, tx.ops[i]);
    o.id = ids[i];
    o.op = tx.ops[i].op;
    o.sender = tx.sender;
    out.push_back(std::move(o));
  }
}

TxOutcome Executor::apply_op(const chain::TxContext& ctx, const TxOp& op) {
  TxOutcome o;
  auto it = modules_.find(op.op.substr(0, op.op.find('.')));  // "kv.put" -> kv, "transfer" -> transfer
  if (it == modules_.end()) {
    o.error = Status(Code::kNotFound, "chain: no module for op " + op.op);
    return o;
  }
  TxView view(store_, ctx.revision);
  auto r = it->second->apply(view, op.op, op.args, ctx);
  if (!r.ok()) {
    o.error = r.status();
    return o;
  }
  view.commit();
  o.ok = true;
  o.result = std::move(*r);
  return o;
}

namespace {

// Moves the op out of the decoded value (args can be large; a copy was a measurable share of a
// tx's cost).
Result<TxOp> op_from(Value& v) {
  if (!v.is<Array>() || v.as<Array>().size() != 2 || !v.as<Array>()[0].is<std::string>()) {
    return Status(decode_error("tx: bad bundled op"));
  }
  auto& a = v.as<Array>();
  return TxOp{std::move(a[0].as<std::string>()), std::move(a[1])};
}

// The codec's msgpack array header (msgpack-c's packer writes the smallest form). Arrays are
// encoded element by element below: msgpack is a concatenation, so the bytes are those of
// encoding the whole array as one Value, without first copying every op's args into one.
void array_header(Bytes& out, std::size_t n) {
  if (n < 16) {
    out.push_back(static_cast<std::uint8_t>(0x90 | n));
  } else if (n < 65536) {
    out.insert(out.end(), {0xdc, static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)});
  } else {
    out.insert(out.end(), {0xdd, static_cast<std::uint8_t>(n >> 24), static_cast<std::uint8_t>(n >> 16),
                           static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)});
  }
}

// msgpack([[op, args]...]).
Bytes ops_bytes(const std::vector<TxOp>& ops) {
  Bytes out;
  array_header(out, ops.size());
  for (const auto& o : ops) {
    array_header(out, 2);
    codec::encode(Value(o.op), out);
    codec::encode(o.args, out);
  }
  return out;
}

// msgpack(["nitro-txs", sender, nonce, [[op, args]...]]) from the ops' encoding.
Bytes bundle_signing_bytes(const PeerId& sender, std::uint64_t nonce, const Bytes& ops) {
  Bytes out;
  array_header(out, 4);
  codec::encode(Value("nitro-txs"), out);
  codec::encode(Value(Bytes(sender.bytes().begin(), sender.bytes().end())), out);
  codec::encode(Value(nonce), out);
  out.insert(out.end(), ops.begin(), ops.end());
  return out;
}

Bytes signing_bytes(const Tx& tx) {
  if (tx.bundle) return bundle_signing_bytes(tx.sender, tx.nonce, ops_bytes(tx.ops));
  Bytes out;
  array_header(out, 5);
  codec::encode(Value("nitro-tx"), out);
  codec::encode(Value(Bytes(tx.sender.bytes().begin(), tx.sender.bytes().end())), out);
  codec::encode(Value(tx.nonce), out);
  codec::encode(Value(tx.ops[0].op), out);
  codec::encode(tx.ops[0].args, out);
  return out;
}

}  // namespace

Result<Tx> decode_tx(std::span<const std::uint8_t> bytes) {
  codec::Limits limits;
  limits.frame_bytes_max = kBundleBytesMax;
  auto v = codec::decode(bytes, limits);
  if (!v.ok()) return v.status();
  if (!v->is<Array>() || (v->as<Array>().size() != 5 && v->as<Array>().size() != 4)) {
    return Status(decode_error("tx: expected 4 or 5 fields"));
  }
  auto& a = v->as<Array>();
  const Value& sig = a.back();
  if (!a[0].is<Bytes>() || !a[1].is<std::int64_t>() || !sig.is<Bytes>()) return Status(decode_error("tx: bad field types"));
  auto sender = PeerId::from_bytes(a[0].as<Bytes>());
  if (!sender.ok()) return Status(decode_error("tx: bad sender"));
  if (sig.as<Bytes>().size() != crypto::kSignatureBytes) return Status(decode_error("tx: bad signature size"));
  if (a[1].as<std::int64_t>() < 0) return Status(decode_error("tx: negative nonce"));
  Tx tx{*sender, static_cast<std::uint64_t>(a[1].as<std::int64_t>()), {}, sig.as<Bytes>(), a.size() == 4};
  if (!tx.bundle) {
    if (!a[2].is<std::string>()) return Status(decode_error("tx: bad field types"));
    tx.ops.push_back(TxOp{std::move(a[2].as<std::string>()), std::move(a[3])});
    return tx;
  }
  if (!a[2].is<Array>() || a[2].as<Array>().empty() || a[2].as<Array>().size() > kBundleOpsMax) {
    return Status(decode_error("tx: a bundle holds 1..1024 ops"));
  }
  tx.ops.reserve(a[2].as<Array>().size());
  for (auto& o : a[2].as<Array>()) {
    auto op = op_from(o);
    if (!op.ok()) return op.status();
    tx.ops.push_back(std::move(*op));
  }
  return tx;
}

bool verify_tx(const Tx& tx) {
  if (tx.ops.empty()) return false;
  return tx.sender.verify(signing_bytes(tx), tx.signature);
}

Bytes encode_signed_tx(const crypto::Identity& id, std::uint64_t nonce, const std::string& op, const Value& args) {
  Tx tx{id.peer_id(), nonce, {TxOp{op, args}}, {}, false};
  const auto sig = id.sign(signing_bytes(tx));
  Bytes pk(id.peer_id().bytes().begin(), id.peer_id().bytes().end());
  return codec::encode(Value(Array{Value(std::move(pk)), Value(nonce), Value(op), args, Value(Bytes(sig.begin(), sig.end()))}));
}

// The ops are encoded once, for the signing message and for the tx: [sender, nonce, ops, sig].
Bytes encode_signed_bundle(const crypto::Identity& id, std::uint64_t nonce, const std::vector<TxOp>& ops) {
  NITRO_ASSERT(!ops.empty() && ops.size() <= kBundleOpsMax);
  const Bytes encoded_ops = ops_bytes(ops);
  const auto sig = id.sign(bundle_signing_bytes(id.peer_id(), nonce, encoded_ops));
  Bytes out;
  array_header(out, 4);
  codec::encode(Value(Bytes(id.peer_id().bytes().begin(), id.peer_id().bytes().end())), out);
  codec::encode(Value(nonce), out);
  out.insert(out.end(), encoded_ops.begin(), encoded_ops.end());
  codec::encode(Value(Bytes(sig.begin(), sig.end())), out);
  return out;
}

Hash op_id(const PeerId& sender, std::uint64_t nonce) {
  Bytes pk(sender.bytes().begin(), sender.bytes().end());
  return sha256(codec::encode(Value(Array{Value("nitro-op"), Value(std::move(pk)), Value(nonce)})));
}

std::vector<Hash> op_ids(const Tx& tx, std::span<const std::uint8_t> encoded) {
  if (!tx.bundle) return {sha256(encoded)};
  std::vector<Hash> ids;
  ids.reserve(tx.ops.size());
  for (std::size_t i = 0; i < tx.ops.size(); ++i) ids.push_back(op_id(tx.sender, tx.nonce + i));
  return ids;
}

}  // namespace nitro::consensus
