// Replicated KV state, Merkle root, executor and the built-in kv module (see state.h).
#include "consensus/state.h"

#include <sodium.h>

#include "nitro/assert.h"
#include "nitro/codec.h"
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
  codec::encode(Value(entry.mod_revision), buf);
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
  leaves_[key] = leaf_hash(key, entry);
  kv_[key] = std::move(entry);
}

void KvStore::erase(const std::string& key) {
  kv_.erase(key);
  leaves_.erase(key);
}

Hash KvStore::root() const {
  if (leaves_.empty()) return Hash{};
  std::vector<Hash> level;
  level.reserve(leaves_.size());
  for (const auto& [k, h] : leaves_) level.push_back(h);
  while (level.size() > 1) {
    std::vector<Hash> next;
    next.reserve(level.size() / 2 + 1);
    for (std::size_t i = 0; i + 1 < level.size(); i += 2) next.push_back(node_hash(level[i], level[i + 1]));
    if (level.size() % 2) next.push_back(level.back());
    level = std::move(next);
  }
  return level[0];
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
}

Status Executor::register_module(const std::string& prefix, std::shared_ptr<chain::BuiltinModule> module) {
  if (prefix.empty() || prefix.find('.') != std::string::npos) return invalid_argument("chain: bad module prefix");
  if (!module) return invalid_argument("chain: null module");
  if (!modules_.emplace(prefix, std::move(module)).second) return Status(Code::kAlreadyExists, "chain: module prefix taken");
  return Status::ok_status();
}

std::vector<TxOutcome> Executor::execute(const chain::BlockContext& block, const std::vector<Bytes>& txs) {
  chain::BlockContext b = block;
  b.revision = ++revision_;
  for (auto& [prefix, m] : modules_) {
    TxView view(store_, b.revision);
    m->begin_block(view, b);
    view.commit();
  }
  std::vector<TxOutcome> out;
  out.reserve(txs.size());
  for (const auto& tx : txs) {
    chain::TxContext ctx{block.height, block.time_ms, PeerId{}, ++revision_};
    out.push_back(apply_tx(ctx, tx));
  }
  return out;
}

TxOutcome Executor::apply_tx(const chain::TxContext& context, const Bytes& bytes) {
  TxOutcome o;
  o.id = sha256(bytes);
  auto tx = decode_tx(bytes);
  if (!tx.ok()) {
    o.error = tx.status();
    return o;
  }
  chain::TxContext ctx = context;
  ctx.sender = o.sender = tx->sender;
  auto it = modules_.find(tx->op.substr(0, tx->op.find('.')));  // "kv.put" -> kv, "transfer" -> transfer
  if (it == modules_.end()) {
    o.error = Status(Code::kNotFound, "chain: no module for op " + tx->op);
    return o;
  }
  TxView view(store_, ctx.revision);
  auto r = it->second->apply(view, tx->op, tx->args, ctx);
  if (!r.ok()) {
    o.error = r.status();
    return o;
  }
  view.commit();
  o.ok = true;
  o.result = std::move(*r);
  return o;
}

Result<Tx> decode_tx(std::span<const std::uint8_t> bytes) {
  auto v = codec::decode(bytes);
  if (!v.ok()) return v.status();
  if (!v->is<Array>() || v->as<Array>().size() != 5) return Status(decode_error("tx: expected 5 fields"));
  const auto& a = v->as<Array>();
  if (!a[0].is<Bytes>() || !a[1].is<std::int64_t>() || !a[2].is<std::string>() || !a[4].is<Bytes>()) {
    return Status(decode_error("tx: bad field types"));
  }
  auto sender = PeerId::from_bytes(a[0].as<Bytes>());
  if (!sender.ok()) return Status(decode_error("tx: bad sender"));
  if (a[4].as<Bytes>().size() != crypto::kSignatureBytes) return Status(decode_error("tx: bad signature size"));
  if (a[1].as<std::int64_t>() < 0) return Status(decode_error("tx: negative nonce"));
  return Tx{*sender, static_cast<std::uint64_t>(a[1].as<std::int64_t>()), a[2].as<std::string>(), a[3],
            a[4].as<Bytes>()};
}

namespace {
Bytes tx_signing_bytes(const PeerId& sender, std::uint64_t nonce, const std::string& op, const Value& args) {
  Bytes pk(sender.bytes().begin(), sender.bytes().end());
  return codec::encode(Value(Array{Value("nitro-tx"), Value(std::move(pk)), Value(nonce), Value(op), args}));
}
}  // namespace

bool verify_tx(const Tx& tx) {
  return tx.sender.verify(tx_signing_bytes(tx.sender, tx.nonce, tx.op, tx.args), tx.signature);
}

Bytes encode_signed_tx(const crypto::Identity& id, std::uint64_t nonce, const std::string& op, const Value& args) {
  const auto sig = id.sign(tx_signing_bytes(id.peer_id(), nonce, op, args));
  Bytes pk(id.peer_id().bytes().begin(), id.peer_id().bytes().end());
  return codec::encode(Value(Array{Value(std::move(pk)), Value(nonce), Value(op), args, Value(Bytes(sig.begin(), sig.end()))}));
}

}  // namespace nitro::consensus
