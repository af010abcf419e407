// State sync: snapshots of the committed state, served in chunks and installed by a replica too
// far behind for block sync (see nitro/consensus.h and the frames in wire.h).
#include <algorithm>
#include <cstdio>

#include "consensus/engine.h"
#include "nitro/assert.h"
#include "nitro/auth.h"
#include "nitro/codec.h"

namespace nitro::consensus {
namespace {

bool u64(const Value& v, std::uint64_t& out) {
  if (!v.is<std::int64_t>() || v.as<std::int64_t>() < 0) return false;
  out = static_cast<std::uint64_t>(v.as<std::int64_t>());
  return true;
}

Value entry_value(const std::string& key, const chain::KvEntry& e) {
  return Value(Array{Value(key), e.value, Value(e.create_revision), Value(e.mod_revision), Value(e.version)});
}

bool entry_from(const Value& v, std::string& key, chain::KvEntry& e) {
  if (!v.is<Array>() || v.as<Array>().size() != 5 || !v.as<Array>()[0].is<std::string>()) return false;
  const auto& a = v.as<Array>();
  key = a[0].as<std::string>();
  e.value = a[1];
  return !key.empty() && key.size() <= chain::kKeyBytesMax && u64(a[2], e.create_revision) &&
         u64(a[3], e.mod_revision) && u64(a[4], e.version);
}

Hash root_of(const Entries& entries, std::uint64_t revision) {
  KvStore s;
  for (const auto& [k, e] : entries) s.set(k, e);
  return state_root(revision, s.root());
}

// Where each chunk of bounded bytes and entries starts (an empty state is one empty chunk).
std::vector<std::size_t> chunk_starts(const Entries& entries) {
  std::vector<std::size_t> starts;
  std::size_t bytes = 0;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& [k, e] = entries[i];
    const std::size_t size = k.size() + codec::encode(e.value).size() + 32;
    if (starts.empty() || bytes + size > kSnapshotChunkBytes || i - starts.back() >= kSnapshotChunkEntries) {
      starts.push_back(i);
      bytes = 0;
    }
    bytes += size;
  }
  if (starts.empty()) starts.push_back(0);
  return starts;
}

}  // namespace

// ---- serving ---------------------------------------------------------------------------------

// A copy of the committed state, cut into chunks; served once certified.
void Engine::take_snapshot() {
  auto s = std::make_shared<Snapshot>();
  s->height = committed_->height;
  s->revision = exec_.revision();
  s->root = exec_.root();
  s->entries.assign(exec_.store().entries().begin(), exec_.store().entries().end());
  s->chunk_starts = chunk_starts(s->entries);
  snapshot_height_ = s->height;
  uncertified_ = std::move(s);
}

// `b` carries the snapshot's root as its executed state and `qc` certifies b: servable.
void Engine::certify_snapshot(const Block& b, const QC& qc) {
  if (!uncertified_ || b.exec_height != uncertified_->height || b.exec_root != uncertified_->root) return;
  uncertified_->header = header_value(b);
  uncertified_->qc = qc;
  persist_snapshot(*uncertified_, b);
  snapshots_.push_back(std::move(uncertified_));
  uncertified_.reset();
  while (snapshots_.size() > kSnapshotsKept) snapshots_.pop_front();
}

// The certified snapshot goes to disk as "snap" (the state and the blocks from just under the
// reputation window up to its certifying header, as a state sync installs it), so a restart
// resumes from it plus the blocks above, and the block records under it can go.
void Engine::persist_snapshot(const Snapshot& s, const Block& header) {
  if (!ctx_) return;
  const std::uint64_t lowest = s.height > kReputationWindow + 1 ? s.height - kReputationWindow - 1 : 1;
  std::vector<const Block*> chain;
  for (const Block* b = &header; b && b->height >= lowest; b = block(b->parent)) chain.push_back(b);
  if (chain.empty() || chain.back()->height != lowest) return;  // a gap: keep every record
  std::reverse(chain.begin(), chain.end());
  write_snap(s.height, s.revision, chain, s.entries, s.qc);
  // Kept: the records block sync may still be asked for (a replica further behind than
  // kSyncGapMax state-syncs instead); a restart loads them back under the snapshot.
  prune_blocks(s.height > kSyncGapMax ? s.height - kSyncGapMax : 0);
}

// "snap": [height, revision, [block...], [entry...], QC], the blocks oldest first, ending at the
// header whose exec fields are (height, root) and which the QC certifies. With the QC a restarted
// validator serves the snapshot at once instead of after the next one is certified.
void Engine::write_snap(std::uint64_t height, std::uint64_t revision, const std::vector<const Block*>& chain,
                        const Entries& entries, const QC& qc) {
  Array blocks, items;
  for (const Block* b : chain) blocks.push_back(block_value(*b));
  for (const auto& [k, e] : entries) items.push_back(entry_value(k, e));
  ctx_->store_put("snap", codec::encode(Value(Array{Value(height), Value(revision), Value(std::move(blocks)),
                                                    Value(std::move(items)), qc_value(qc)})));
}

// Deleted after the "snap" that replaces them, in the same store batch: a torn batch keeps a
// prefix, so the records never go without the snapshot.
void Engine::prune_blocks(std::uint64_t below) {
  while (!stored_blocks_.empty() && *stored_blocks_.begin() < below) {
    char key[24];
    std::snprintf(key, sizeof key, "b/%016llx", static_cast<unsigned long long>(*stored_blocks_.begin()));
    ctx_->store_delete(key);
    stored_blocks_.erase(stored_blocks_.begin());
  }
}

void Engine::handle_snapshot_fetch(const PeerId& from, const Array& a) {
  std::uint64_t height = 0, index = 0;
  if (a.size() != 3 || !u64(a[1], height) || !u64(a[2], index)) { stats_.bad_frames++; return; }
  if (snapshots_.empty()) return;
  auto it = std::find_if(snapshots_.begin(), snapshots_.end(), [&](const auto& s) { return s->height == height; });
  if (it == snapshots_.end()) {  // gone (or "the latest"): start over with the newest
    it = std::prev(snapshots_.end());
    index = 0;
  }
  const Snapshot& s = **it;
  if (index >= s.chunk_starts.size()) return;
  const std::size_t begin = s.chunk_starts[index];
  const std::size_t end = index + 1 < s.chunk_starts.size() ? s.chunk_starts[index + 1] : s.entries.size();
  Array entries;
  for (std::size_t i = begin; i < end; ++i) entries.push_back(entry_value(s.entries[i].first, s.entries[i].second));
  if (config_.byzantine == Byzantine::kBadSnapshot && !entries.empty()) entries[0].as<Array>()[1] = Value("forged");
  const Bytes frame = codec::encode(Value(Array{
      Value(static_cast<int>(FrameType::kSnapshotChunk)), Value(s.height), Value(s.revision),
      Value(std::uint64_t{s.entries.size()}), Value(std::uint64_t{s.chunk_starts.size()}), Value(index), s.header,
      qc_value(s.qc), Value(std::move(entries))}));
  send_peer(from, frame);
  stats_.snapshots_served++;
}

// ---- fetching --------------------------------------------------------------------------------

// Validators are asked in index order after our own, so which one serves is predictable.
void Engine::start_state_sync() {
  if (sync_ || !ctx_) return;
  sync_.emplace();
  sync_->peer = static_cast<std::uint32_t>((self_ + 1) % n_);
  if (sync_->peer == self_) sync_->peer = static_cast<std::uint32_t>((sync_->peer + 1) % n_);
  sync_->tried.insert(sync_->peer);
  request_snapshot_chunk();
}

// The current peer served a snapshot that does not match its certificate (bad), or went quiet:
// start over with the next validator (all tried: start the round again).
void Engine::next_sync_peer(bool bad) {
  if (!sync_) return;
  if (bad) stats_.snapshots_rejected++;
  std::uint32_t p = sync_->peer;
  for (std::size_t k = 0; k < n_; ++k) {
    p = static_cast<std::uint32_t>((p + 1) % n_);
    if (p != self_ && !sync_->tried.count(p)) break;
  }
  if (p == self_ || sync_->tried.count(p)) {
    sync_->tried.clear();
    p = static_cast<std::uint32_t>((sync_->peer + 1) % n_);
    if (p == self_) p = static_cast<std::uint32_t>((p + 1) % n_);
  }
  auto tried = std::move(sync_->tried);
  sync_.emplace();
  sync_->peer = p;
  sync_->tried = std::move(tried);
  sync_->tried.insert(p);
  request_snapshot_chunk();
}

// A request or its answer may be lost (a link still coming up drops frames): asked again after
// a timeout, kSyncRetries times, before the next validator is tried.
void Engine::sync_timeout() {
  if (sync_->retries++ >= kSyncRetries) return next_sync_peer(false);
  if (sync_->anchoring) {
    sync_->deadline_ms = now_ms_ + 2 * config_.timeout_ms;
    return request_blocks(sync_->peer, sync_->header_hash, sync_->anchor_count);
  }
  request_snapshot_chunk();
}

void Engine::request_snapshot_chunk() {
  sync_->deadline_ms = now_ms_ + 2 * config_.timeout_ms;
  send_to(sync_->peer, codec::encode(Value(Array{Value(static_cast<int>(FrameType::kSnapshotFetch)),
                                                 Value(sync_->height), Value(sync_->next)})));
}

void Engine::handle_snapshot_chunk(std::uint32_t from, const Array& a) {
  std::uint64_t height = 0, index = 0;
  if (a.size() != 9 || !u64(a[1], height) || !u64(a[5], index) || !a[8].is<Array>()) { stats_.bad_frames++; return; }
  if (!sync_ || sync_->anchoring || from != sync_->peer) return;
  if (index == 0 && height != sync_->height) {  // a (newer) snapshot: start its fetch over
    if (!snapshot_meta(a)) return next_sync_peer(true);
  }
  if (height != sync_->height || index != sync_->next) return;  // stale or duplicate
  if (!snapshot_entries(a[8])) return next_sync_peer(true);
  sync_->retries = 0;
  if (++sync_->next < sync_->chunks) return request_snapshot_chunk();
  finish_snapshot_fetch();
}

// The chunk's description of its snapshot, checked: a header the QC certifies, whose executed
// state is the snapshot's height. Its root is what the entries must hash to.
bool Engine::snapshot_meta(const Array& a) {
  StateSync s;
  s.peer = sync_->peer;
  s.tried = sync_->tried;
  if (!u64(a[1], s.height) || !u64(a[2], s.revision) || !u64(a[3], s.count) || !u64(a[4], s.chunks)) return false;
  if (s.count > kSnapshotEntriesMax || s.chunks == 0 || s.chunks > s.count + 1 || s.height <= committed_->height) return false;
  auto header = header_from(a[6], n_);
  auto qc = qc_from(a[7], n_);
  if (!header.ok() || !qc.ok()) return false;
  s.header = header->first;
  s.header_hash = header->second;
  if (qc->hash != s.header_hash || qc->view != s.header->view || s.header->exec_height != s.height || !verify_qc(*qc)) return false;
  s.qc = std::move(*qc);
  s.deadline_ms = sync_->deadline_ms;
  sync_ = std::move(s);
  return true;
}

bool Engine::snapshot_entries(const Value& v) {
  for (const auto& item : v.as<Array>()) {
    std::string key;
    chain::KvEntry e;
    if (!entry_from(item, key, e) || sync_->entries.size() >= sync_->count) return false;
    if (!sync_->entries.empty() && key <= sync_->entries.back().first) return false;  // key order
    sync_->entries.emplace_back(std::move(key), std::move(e));
  }
  return true;
}

// All chunks in: the entries must hash to the certified root. Then fetch the blocks from just
// below the snapshot's height up to the certified header (and the reputation window below it).
void Engine::finish_snapshot_fetch() {
  if (sync_->entries.size() != sync_->count || root_of(sync_->entries, sync_->revision) != sync_->header->exec_root) {
    return next_sync_peer(true);
  }
  const std::uint64_t span = sync_->header->height - sync_->height + kReputationWindow + 2;
  if (sync_->header->height < sync_->height + 2 || sync_->header->height - sync_->height + 2 > kFetchCountMax) {
    return next_sync_peer(true);
  }
  sync_->anchoring = true;
  sync_->retries = 0;
  sync_->anchor_count = std::min<std::uint64_t>(span, kFetchCountMax);
  sync_->deadline_ms = now_ms_ + 2 * config_.timeout_ms;
  request_blocks(sync_->peer, sync_->header_hash, sync_->anchor_count);
}

// The fetched blocks end at the certified header (handle_blocks checked the links): they are
// its ancestors, so certified too. They must reach down to the snapshot's height and its parent.
bool Engine::anchor_snapshot(const std::vector<BlockPtr>& chain) {
  if (!sync_ || !sync_->anchoring || chain.back()->hash != sync_->header_hash) return false;
  const std::uint64_t h = sync_->height;
  const std::uint64_t lowest = chain.front()->height;
  if (lowest > h || (h > 1 && lowest > h - 1)) {
    next_sync_peer(true);
    return true;
  }
  const QC qc = sync_->qc;
  const StateSync s = std::move(*sync_);
  sync_.reset();
  install_state(h, s.revision, s.header->exec_root, s.entries, chain);
  stats_.snapshots_installed++;
  // On disk: the state and the blocks around it, so a restart resumes from here.
  std::vector<const Block*> blocks;
  for (const auto& b : chain) blocks.push_back(b.get());
  write_snap(h, s.revision, blocks, s.entries, qc);
  prune_blocks(h);  // ours from before the gap: they no longer link to the chain
  process_qc(qc);  // commits the blocks between the snapshot and the header, executing them here
  for (const auto& b : chain) insert_pending_children(b->hash);
  return true;
}

// Replaces the state and the chain below it: the block at `height` becomes the committed tip.
void Engine::install_state(std::uint64_t height, std::uint64_t revision, const Hash& root, const Entries& entries,
                           const std::vector<BlockPtr>& chain) {
  exec_.install(entries, revision);
  NITRO_ASSERT(exec_.root() == root);
  for (const auto& [key, entry] : entries) {  // revocations the skipped blocks committed
    if (ctx_ && key.starts_with(auth::kChainRevokedPrefix) && entry.value.is<Bytes>()) {
      ctx_->committed_revocation(entry.value.as<Bytes>());
    }
  }
  blocks_.clear();
  blocks_[genesis_->hash] = genesis_;
  committed_by_height_.clear();
  roots_by_height_.clear();
  ops_by_height_.clear();
  reputation_cache_.clear();
  for (const auto& b : chain) {
    blocks_[b->hash] = b;
    if (b->height == height) committed_ = b.get();
    // The roots the certified blocks carry, for the exec fields of the blocks that follow.
    if (b->exec_height < height) roots_by_height_[b->exec_height] = b->exec_root;
  }
  NITRO_ASSERT(committed_->height == height);
  committed_by_height_[height] = committed_->hash;
  roots_by_height_[height] = root;
  snapshot_height_ = height;
  uncertified_.reset();
}

// The "snap" record (write_snap). A record without its QC (written before the QC was kept)
// still restores the state; it is served once the next snapshot is certified.
bool Engine::restore_snapshot(const Bytes& bytes) {
  auto v = codec::decode(bytes);
  if (!v.ok() || !v->is<Array>() || v->as<Array>().size() < 4 || v->as<Array>().size() > 5) return false;
  const auto& a = v->as<Array>();
  std::uint64_t height = 0, revision = 0;
  if (!u64(a[0], height) || !u64(a[1], revision) || !a[2].is<Array>() || !a[3].is<Array>()) return false;
  std::vector<BlockPtr> chain;
  bool has_tip = false;
  for (const auto& bv : a[2].as<Array>()) {
    auto b = block_from(bv, n_);
    if (!b.ok() || (!chain.empty() && (*b)->parent != chain.back()->hash)) return false;
    has_tip = has_tip || (*b)->height == height;
    chain.push_back(std::move(*b));
  }
  Entries entries;
  for (const auto& ev : a[3].as<Array>()) {
    std::string key;
    chain::KvEntry e;
    if (!entry_from(ev, key, e)) return false;
    entries.emplace_back(std::move(key), std::move(e));
  }
  if (!has_tip) return false;
  // The root the blocks above the snapshot certify (our own write, so it matches unless the disk
  // is corrupt; then start from genesis rather than from a state nobody certified).
  const Hash root = root_of(entries, revision);
  bool certified = false;
  for (const auto& b : chain) certified = certified || (b->exec_height == height && b->exec_root == root);
  if (!certified) return false;
  install_state(height, revision, root, entries, chain);
  if (a.size() == 5) serve_restored_snapshot(height, revision, root, std::move(entries), *chain.back(), a[4]);
  return true;
}

// The restored snapshot goes back on offer if its QC certifies the last block of the record, the
// header carrying the snapshot's height and root.
void Engine::serve_restored_snapshot(std::uint64_t height, std::uint64_t revision, const Hash& root, Entries entries,
                                     const Block& header, const Value& stored_qc) {
  auto qc = qc_from(stored_qc, n_);
  if (!qc.ok() || qc->hash != header.hash || qc->view != header.view || header.exec_height != height ||
      header.exec_root != root || !verify_qc(*qc)) {
    return;
  }
  auto s = std::make_shared<Snapshot>();
  s->height = height;
  s->revision = revision;
  s->root = root;
  s->entries = std::move(entries);
  s->chunk_starts = chunk_starts(s->entries);
  s->header = header_value(header);
  s->qc = std::move(*qc);
  snapshots_.push_back(std::move(s));
}

}  // namespace nitro::consensus
