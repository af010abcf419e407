// crdt::DocSync: gossip of local updates, state-vector anti-entropy, reassembly of large updates,
// rejection reports and write-ahead persistence of documents (contract in nitro/docsync.h).
#include <algorithm>
#include <cctype>

#include "nitro/assert.h"
#include "nitro/codec.h"
#include "nitro/docsync.h"

#include <sodium.h>

namespace nitro::crdt {
namespace {

// Origins the protocol passes to Doc::apply_update, so a host listening to the Doc can tell them
// from its own edits (the JS binding treats any origin other than 0 as remote).
constexpr std::uint64_t kRemoteOrigin = 1;

std::string hex(std::string_view s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

// Fixed-width hex, so keys sort by sequence number (formatted by hand: snprintf would bring the
// whole printf machinery into nitro.wasm for this one key).
std::string log_key(const std::string& prefix, std::uint64_t seq) {
  std::string key = prefix + "u/";
  for (int shift = 60; shift >= 0; shift -= 4) key += "0123456789abcdef"[(seq >> shift) & 15];
  return key;
}

std::optional<std::uint64_t> log_seq(const std::string& key, const std::string& prefix) {
  const std::string head = prefix + "u/";
  if (key.size() != head.size() + 16 || key.compare(0, head.size(), head) != 0) return std::nullopt;
  std::uint64_t v = 0;
  for (std::size_t i = head.size(); i < key.size(); ++i) {
    const char c = key[i];
    const int n = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (n < 0) return std::nullopt;
    v = v << 4 | static_cast<std::uint64_t>(n);
  }
  return v;
}

const char* via_name(int via) {
  static const char* names[] = {"gossip", "sync", "store"};
  return names[via];
}

Value str(const char* s) { return Value{std::string(s)}; }

}  // namespace

Result<std::unique_ptr<DocSync>> DocSync::create(DocSyncConfig config) {
  if (config.peer_sync_min_ms == 0) return Status(invalid_argument("docsync: peer_sync_min_ms must be positive"));
  return std::unique_ptr<DocSync>(new DocSync(config));
}

Status DocSync::check(const SyncOptions& o) {
  if (o.anti_entropy_ms < 10 || o.anti_entropy_ms > (std::uint64_t{1} << 40)) {
    return invalid_argument("docsync: anti_entropy_ms must be in 10..2^40");
  }
  if (o.anti_entropy_peers == 0) return invalid_argument("docsync: anti_entropy_peers must be positive");
  if (o.compact_every == 0) return invalid_argument("docsync: compact_every must be positive");
  const bool hex = std::all_of(o.token.begin(), o.token.end(), [](char ch) { return std::isxdigit(static_cast<unsigned char>(ch)) != 0; });
  if (!o.token.empty() && (o.token.size() != 64 || !hex)) return invalid_argument("docsync: token must be a token id (64 hex digits)");
  return {};
}

void DocSync::attach(ProtocolContext& ctx) { ctx_ = &ctx; }

// ---- documents ----------------------------------------------------------------------------------

Status DocSync::open(const std::string& name, Doc& doc, const SyncOptions& options, const StoredRecords& stored) {
  if (!ctx_) return failed_precondition("docsync: not attached to a node");
  NITRO_TRY(check(options));
  if (name.empty() || name.size() > kDocNameBytesMax) {
    return invalid_argument("docsync: a document name has 1.." + std::to_string(kDocNameBytesMax) + " bytes");
  }
  if (docs_.count(name)) return Status(Code::kAlreadyExists, "docsync: document '" + name + "' is already open");
  if (docs_.size() >= kDocsMax) return resource_exhausted("docsync: too many open documents");
  NITRO_TRY(ctx_->subscribe(doc_topic(name)));
  Replica& r = docs_[name];
  r.doc = &doc;
  r.options = options;
  r.key_prefix = hex(name) + "/";
  if (options.persist) load(name, r, stored);
  schedule(r, ctx_->now_ms());
  for (const PeerId& p : candidates()) send_vector(name, r, p, true);
  return {};
}

void DocSync::close(const std::string& name) {
  auto it = docs_.find(name);
  if (it == docs_.end()) return;
  docs_.erase(it);
  if (ctx_) (void)ctx_->unsubscribe(doc_topic(name));
}

const DocSyncStats* DocSync::stats(const std::string& name) const {
  auto it = docs_.find(name);
  return it == docs_.end() ? nullptr : &it->second.stats;
}

Status DocSync::sync_now(const std::string& name) {
  auto it = docs_.find(name);
  if (it == docs_.end()) return not_found("docsync: document '" + name + "' is not open");
  for (const PeerId& p : candidates()) send_vector(name, it->second, p, true);
  return {};
}

// Stored records come from the host's store for this document and from the node's restored
// records under the channel; both use the same keys. Snapshot first, then the log in order.
void DocSync::load(const std::string& name, Replica& r, const StoredRecords& stored) {
  StoredRecords all = stored;
  for (auto& [k, v] : ctx_->take_restored()) all.emplace(k, std::move(v));
  std::map<std::uint64_t, const Bytes*> log;
  const Bytes* snapshot = nullptr;
  for (const auto& [k, v] : all) {
    if (k == r.key_prefix + "s") snapshot = &v;
    if (auto seq = log_seq(k, r.key_prefix)) log.emplace(*seq, &v);
  }
  if (snapshot) apply(name, r, *snapshot, Via::kStore, nullptr);
  for (const auto& [seq, bytes] : log) {
    apply(name, r, *bytes, Via::kStore, nullptr);
    r.logged.insert(seq);
    r.next_seq = seq + 1;
  }
}

// ---- persistence --------------------------------------------------------------------------------

void DocSync::persist(Replica& r, std::span<const std::uint8_t> update) {
  if (!r.options.persist) return;
  const std::uint64_t seq = r.next_seq++;
  ctx_->store_put(log_key(r.key_prefix, seq), Bytes(update.begin(), update.end()));
  r.logged.insert(seq);
  r.stats.stored++;
  if (r.logged.size() >= r.options.compact_every) compact(r);
}

// The state leaves out updates still waiting for a missing dependency, and the log records are
// their only durable copy: they are written back as one record after the state. Signed ones
// (writer-restricted documents) cannot be rewritten unsigned, so their log is kept until the
// dependency arrives.
void DocSync::compact(Replica& r) {
  Bytes pending = r.doc->encode_pending();
  if (!pending.empty() && !r.doc->writers().empty()) return;
  ctx_->store_put(r.key_prefix + "s", r.doc->encode_state());
  for (std::uint64_t seq : r.logged) ctx_->store_delete(log_key(r.key_prefix, seq));
  r.logged.clear();
  if (!pending.empty()) {
    const std::uint64_t seq = r.next_seq++;
    ctx_->store_put(log_key(r.key_prefix, seq), std::move(pending));
    r.logged.insert(seq);
  }
  r.stats.compactions++;
}

// ---- local updates: stored, then gossiped ------------------------------------------------------

Status DocSync::local_update(const std::string& name, std::span<const std::uint8_t> update) {
  auto it = docs_.find(name);
  if (it == docs_.end()) return not_found("docsync: document '" + name + "' is not open");
  Replica& r = it->second;
  persist(r, update);  // before the publish below queues anything for the wire
  if (update.size() > kGossipBytesMax) {
    for (const PeerId& p : candidates()) send_update(name, r, p, update);
    r.stats.sent_direct++;
    return {};
  }
  auto seq = ctx_->publish(doc_topic(name), encode_gossip_update(update, r.options.token));
  if (seq.ok()) {
    r.stats.published++;
  } else {
    r.stats.publish_failed++;  // anti-entropy carries it later
  }
  return {};
}

// ---- remote updates -----------------------------------------------------------------------------

void DocSync::apply(const std::string& name, Replica& r, std::span<const std::uint8_t> update, Via via,
                    const PeerId* from, const std::string& token) {
  if (from != nullptr) {  // access control: the sending peer (the author, for gossip) must hold doc.write
    Status allowed = ctx_->authorize_with(*from, "doc.write", name, token);
    if (!allowed.ok()) {
      r.stats.rejected++;
      return emit_rejected(name, via, from, allowed, update.size());
    }
  }
  bool changed = false;
  Status s = r.doc->apply_update(update, kRemoteOrigin, changed);
  if (s.code() == Code::kFailedPrecondition && via != Via::kStore) {
    r.stats.busy++;  // the host holds a transaction open: anti-entropy resends it
    return;
  }
  if (!s.ok()) {
    r.stats.rejected++;
    emit_rejected(name, via, from, s, update.size());
    return;
  }
  if (via == Via::kStore) return;
  r.stats.applied++;
  if (!changed) return;
  persist(r, update);
  if (!config_.emit_applied) return;
  ctx_->emit(codec::encode(Value{nitro::Map{{str("type"), str("applied")}, {str("doc"), Value{name}},
                                     {str("via"), str(via_name(static_cast<int>(via)))},
                                     {str("from"), Value{from ? from->to_string() : std::string()}},
                                     {str("update"), Value{Bytes(update.begin(), update.end())}}}}));
}

void DocSync::emit_rejected(const std::string& name, Via via, const PeerId* from, const Status& s, std::size_t bytes) {
  ctx_->emit(codec::encode(Value{nitro::Map{{str("type"), str("rejected")}, {str("doc"), Value{name}},
                                     {str("via"), str(via_name(static_cast<int>(via)))},
                                     {str("from"), Value{from ? from->to_string() : std::string("store")}},
                                     {str("code"), str(code_name(s.code()))}, {str("message"), Value{s.message()}},
                                     {str("bytes"), Value{std::uint64_t{bytes}}}}}));
}

void DocSync::on_broadcast(const std::string& topic, const PeerId& origin, std::uint64_t, std::span<const std::uint8_t> payload,
                           std::uint64_t) {
  if (topic.compare(0, 4, "doc/") != 0 || origin == ctx_->local_id()) return;
  const std::string name = topic.substr(4);
  auto it = docs_.find(name);
  if (it == docs_.end()) return;
  auto g = decode_gossip_update(payload);
  if (!g.ok()) {
    it->second.stats.malformed++;
    return;
  }
  apply(name, it->second, g->update, Via::kGossip, &origin, g->token);
}

void DocSync::on_message(const PeerId& from, std::span<const std::uint8_t> bytes, std::uint64_t) {
  auto m = decode_sync_message(bytes);
  if (!m.ok()) return;  // not attributable to a document
  auto it = docs_.find(m->doc);
  if (it == docs_.end()) return;  // a document we do not hold: nothing to answer
  Replica& r = it->second;
  switch (m->kind) {
    case SyncMessage::Kind::kVector: return on_vector(m->doc, r, from, *m);
    case SyncMessage::Kind::kUpdate: return apply(m->doc, r, m->bytes, Via::kSync, &from, m->token);
    case SyncMessage::Kind::kPart:
      if (!on_part(from, *m)) r.stats.malformed++;
      return;
  }
}

// Parts arrive in order on one link; a part out of sequence drops the reassembly.
bool DocSync::on_part(const PeerId& from, SyncMessage& m) {
  if (m.part_index == 0) reassembly_[from] = Reassembly{m.doc, m.part_id, m.part_count, {}, 0, m.token};
  auto it = reassembly_.find(from);
  if (it == reassembly_.end()) return false;
  Reassembly& ra = it->second;
  if (ra.id != m.part_id || ra.doc != m.doc || ra.count != m.part_count || ra.received != m.part_index) {
    reassembly_.erase(it);
    return false;
  }
  ra.bytes.insert(ra.bytes.end(), m.bytes.begin(), m.bytes.end());
  if (++ra.received < ra.count) return true;
  Bytes whole = std::move(ra.bytes);
  const std::string name = ra.doc, token = ra.token;
  reassembly_.erase(it);
  auto d = docs_.find(name);
  if (d != docs_.end()) apply(name, d->second, whole, Via::kSync, &from, token);
  return true;
}

// ---- anti-entropy -------------------------------------------------------------------------------

void DocSync::on_vector(const std::string& name, Replica& r, const PeerId& from, const SyncMessage& m) {
  // A vector sent without asking back answers ours, and the peer sent its delta before it on this
  // link: everything it had then is applied here.
  if (!m.ask_back && !r.synced) {
    r.synced = true;
    ctx_->emit(codec::encode(Value{nitro::Map{{str("type"), str("synced")}, {str("doc"), Value{name}},
                                              {str("from"), Value{from.to_string()}}}}));
  }
  // A state vector counts insertions only, so equal vectors are in sync only if their delete sets
  // are too: a deletion one replica missed is repaired through the digest and nowhere else. A
  // vector sent without asking back is answered by a delta at most, so no exchange loops.
  const Bytes mine = r.doc->encode_state_vector();
  if (mine == m.bytes && (m.deletes.empty() || m.deletes == deletes_digest(r))) {
    if (m.ask_back) send_vector(name, r, from, false);  // equal: the asker learns it is caught up
    return;
  }
  auto delta = m.writers.empty() ? r.doc->encode_state_as_update(m.bytes)
                                 : r.doc->encode_state_as_update(m.bytes, m.writers);
  if (!delta.ok()) {
    r.stats.malformed++;
    return;
  }
  send_update(name, r, from, *delta);
  r.stats.deltas_sent++;
  if (m.ask_back) send_vector(name, r, from, false);
}

void DocSync::on_peer_up(const PeerId& peer, std::uint64_t now_ms) {
  for (auto& [name, r] : docs_) {
    auto last = r.last_peer_sync.find(peer);
    if (last != r.last_peer_sync.end() && now_ms - last->second < config_.peer_sync_min_ms) continue;
    if (r.last_peer_sync.size() >= 4096) r.last_peer_sync.clear();  // bounded; only a rate limit
    r.last_peer_sync[peer] = now_ms;
    send_vector(name, r, peer, true);
  }
}

void DocSync::on_peer_down(const PeerId& peer, std::uint64_t) { reassembly_.erase(peer); }

void DocSync::send_vector(const std::string& name, Replica& r, const PeerId& peer, bool ask_back) {
  SyncMessage m;
  m.kind = SyncMessage::Kind::kVector;
  m.doc = name;
  m.bytes = r.doc->encode_state_vector();
  m.ask_back = ask_back;
  m.writers = r.doc->writers();
  if (m.writers.empty()) m.deletes = deletes_digest(r);
  send(r, peer, m);
  r.stats.vectors_sent++;
}

// A writer-restricted doc has none: its deletions travel in signed transactions, which advance
// the state vector like any other.
Bytes DocSync::deletes_digest(Replica& r) {
  if (!r.doc->writers().empty()) return {};
  auto only_deletes = r.doc->encode_state_as_update(r.doc->encode_state_vector());
  if (!only_deletes.ok()) return {};
  Bytes out(kDeletesDigestBytes);
  crypto_generichash(out.data(), out.size(), only_deletes->data(), only_deletes->size(), nullptr, 0);
  return out;
}

void DocSync::send(Replica& r, const PeerId& peer, const SyncMessage& m) {
  if (m.kind != SyncMessage::Kind::kVector && !r.options.token.empty()) {  // updates name the writer's token
    SyncMessage named = m;
    named.token = r.options.token;
    if (!ctx_->send(peer, encode_sync_message(named)).ok()) r.stats.send_failed++;
    return;
  }
  if (!ctx_->send(peer, encode_sync_message(m)).ok()) r.stats.send_failed++;
}

void DocSync::send_update(const std::string& name, Replica& r, const PeerId& peer, std::span<const std::uint8_t> update) {
  SyncMessage m;
  m.doc = name;
  if (update.size() <= kPartBytes) {
    m.kind = SyncMessage::Kind::kUpdate;
    m.bytes.assign(update.begin(), update.end());
    return send(r, peer, m);
  }
  const std::size_t count = (update.size() + kPartBytes - 1) / kPartBytes;
  if (count > kPartsMax) {
    r.stats.send_failed++;
    return;
  }
  m.kind = SyncMessage::Kind::kPart;
  m.part_id = next_part_id_++;
  m.part_count = static_cast<std::uint32_t>(count);
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t at = i * kPartBytes, n = std::min(kPartBytes, update.size() - at);
    m.part_index = static_cast<std::uint32_t>(i);
    m.bytes.assign(update.begin() + static_cast<std::ptrdiff_t>(at), update.begin() + static_cast<std::ptrdiff_t>(at + n));
    send(r, peer, m);
  }
}

// Gossip neighbors and linked peers, each once, in id order (deterministic).
std::vector<PeerId> DocSync::candidates() const {
  std::set<PeerId> all;
  for (const PeerId& p : ctx_->neighbors()) all.insert(p);
  for (const PeerInfo& p : ctx_->peers()) all.insert(p.peer);
  return {all.begin(), all.end()};
}

void DocSync::round(const std::string& name, Replica& r) {
  std::vector<PeerId> peers = candidates();
  for (std::size_t i = 0; i < r.options.anti_entropy_peers && !peers.empty(); ++i) {
    std::uint8_t b[8];
    ctx_->random_bytes(b);
    std::uint64_t x = 0;
    for (auto c : b) x = x << 8 | c;
    const std::size_t pick = static_cast<std::size_t>(x % peers.size());
    send_vector(name, r, peers[pick], true);
    peers.erase(peers.begin() + static_cast<std::ptrdiff_t>(pick));
  }
}

// The next round in anti_entropy_ms x [0.5, 1.5), drawn from the node's entropy.
void DocSync::schedule(Replica& r, std::uint64_t now_ms) {
  std::uint8_t b[4];
  ctx_->random_bytes(b);
  const std::uint64_t x = std::uint64_t{b[0]} << 24 | std::uint64_t{b[1]} << 16 | std::uint64_t{b[2]} << 8 | b[3];
  const std::uint64_t mean = r.options.anti_entropy_ms;
  r.next_round_ms = now_ms + mean / 2 + (mean * x >> 32);
}

void DocSync::tick(std::uint64_t now_ms) {
  for (auto& [name, r] : docs_) {
    if (now_ms < r.next_round_ms) continue;
    round(name, r);
    schedule(r, now_ms);
    NITRO_ASSERT(r.next_round_ms > now_ms);
  }
}

std::optional<std::uint64_t> DocSync::next_deadline() const {
  std::optional<std::uint64_t> t;
  for (const auto& [name, r] : docs_) t = t ? std::min(*t, r.next_round_ms) : r.next_round_ms;
  return t;
}

}  // namespace nitro::crdt
