// The consensus state machine: frames, certificates, commit and execution (see nitro/consensus.h).
#include "consensus/engine.h"
#include "consensus/proof.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "nitro/assert.h"
#include "nitro/auth.h"
#include "nitro/codec.h"

namespace nitro::consensus {
namespace {

constexpr const bls::Suite& kSuite = bls::kMinSigPop;

Value map_of(std::initializer_list<std::pair<const char*, Value>> kv) {
  Map m;
  for (const auto& [k, v] : kv) m.emplace_back(Value(k), v);
  return Value(std::move(m));
}

Value hash_value(const Hash& h) { return Value(Bytes(h.begin(), h.end())); }

std::string block_key(std::uint64_t height) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "b/%016llx", static_cast<unsigned long long>(height));
  return buf;
}

// BLS verification is a pure function of its inputs, and validators in one process (the
// simulator, an in-process benchmark) verify the same certificates: remember recent successes.
// Only exact (key, message, signature) triples that verified are kept, so nothing can be forged.
thread_local std::set<Hash> verified_memo;

Hash memo_key(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b, std::span<const std::uint8_t> c) {
  Bytes buf;
  for (auto part : {a, b, c}) {
    codec::encode(Value(Bytes(part.begin(), part.end())), buf);
  }
  return sha256(buf);
}

bool verify_memo(const bls::PublicKey& pk, const Bytes& msg, const Bytes& sig) {
  const Hash key = memo_key(pk.bytes(), msg, sig);
  if (verified_memo.count(key)) return true;
  auto ok = bls::verify(kSuite, pk, msg, sig);
  if (!ok.ok() || !*ok) return false;
  if (verified_memo.size() >= 16384) verified_memo.clear();
  verified_memo.insert(key);
  return true;
}

}  // namespace

Engine::Engine(ConsensusConfig config, const PeerId& self) : config_(std::move(config)), self_id_(self) {
  genesis_set_.members = config_.validators;
  adopt_set(genesis_set_);
  (void)exec_.register_module("validators", make_validators_module(genesis_set_));
  Block g;
  g.parent = sha256(codec::encode(Value(config_.chain_id)));
  g.exec_root = exec_.root();  // the empty state's
  genesis_ = seal(std::move(g));
  blocks_[genesis_->hash] = genesis_;
  committed_ = genesis_.get();
  committed_by_height_[0] = genesis_->hash;
  roots_by_height_[0] = genesis_->exec_root;
  high_qc_.hash = genesis_->hash;
  epoch_root_qc_ = high_qc_;
  // A protocol topic ("chain" prefix): per chain, and valid whatever the chain id's characters.
  char hex[17];
  for (int i = 0; i < 8; ++i) std::snprintf(hex + 2 * i, 3, "%02x", static_cast<unsigned>(genesis_->parent[i]));
  relay_topic_ = std::string("chain.relay.") + hex;
}

void Engine::attach(ProtocolContext& ctx) {
  ctx_ = &ctx;
  (void)ctx.subscribe(relay_topic_);
  now_ms_ = ctx.now_ms();
  restore(ctx.take_restored());
}

std::optional<std::uint32_t> Engine::index_of(const PeerId& p) const {
  for (std::uint32_t i = 0; i < n_; ++i) {
    if (set_.members[i].id == p) return i;
  }
  return std::nullopt;
}

const Block* Engine::block(const Hash& h) const {
  auto it = blocks_.find(h);
  return it == blocks_.end() ? nullptr : it->second.get();
}

// Round robin over the validators that proposed one of the anchor's recent ancestors; every
// eighth rotation over all of them. A deterministic function of (view, anchor's ancestry).
std::uint32_t Engine::leader(std::uint64_t view, const Hash& anchor) {
  if ((view / n_) % 8 == 0) return static_cast<std::uint32_t>(view % n_);
  auto cached = reputation_cache_.find(anchor);
  if (cached == reputation_cache_.end()) {
    if (!block(anchor)) return static_cast<std::uint32_t>(view % n_);
    std::set<std::uint32_t> active;
    const Block* b = block(anchor);
    std::size_t seen = 0;
    for (; b && b->height > epoch_root_height_ && seen < kReputationWindow; ++seen) {  // this epoch's proposers
      active.insert(b->proposer);
      b = block(b->parent);
    }
    std::vector<std::uint32_t> list;
    if (seen == kReputationWindow && active.size() >= quorum()) list.assign(active.begin(), active.end());
    if (reputation_cache_.size() >= 1024) reputation_cache_.clear();
    cached = reputation_cache_.emplace(anchor, std::move(list)).first;
  }
  if (cached->second.empty()) return static_cast<std::uint32_t>(view % n_);
  return cached->second[view % cached->second.size()];
}

// ---- frames ----------------------------------------------------------------------------------

void Engine::on_message(const PeerId& from, std::span<const std::uint8_t> bytes, std::uint64_t now_ms) {
  now_ms_ = now_ms;
  stats_.frames_in++;
  codec::Limits limits;
  limits.frame_bytes_max = config_.block_bytes_max * 2 + 4096;
  auto v = codec::decode(bytes, limits);
  if (!v.ok() || !v->is<Array>() || v->as<Array>().empty() || !v->as<Array>()[0].is<std::int64_t>()) {
    stats_.bad_frames++;
    return;
  }
  const auto& a = v->as<Array>();
  const auto type = static_cast<FrameType>(a[0].as<std::int64_t>());
  if (type == FrameType::kTxs) return handle_txs(a);
  if (type == FrameType::kFetch) return handle_fetch(from, a);
  if (type == FrameType::kSnapshotFetch) return handle_snapshot_fetch(from, a);
  if (type == FrameType::kEpochFetch) return handle_epoch_fetch(from, a);
  if (type == FrameType::kEpochProof) return halted_ ? void() : handle_epoch_proof(from, a);
  if (type == FrameType::kBlocks) return halted_ ? void() : handle_blocks(from, a);
  if (!epoch_gate(from, type, a)) return;
  auto idx = index_of(from);
  if (!idx) {
    stats_.foreign++;
    return;
  }
  if (halted_) return;
  switch (type) {
    case FrameType::kProposal: return handle_proposal(*idx, a, now_ms);
    case FrameType::kVote: return handle_vote(*idx, a);
    case FrameType::kTimeout: return handle_timeout(*idx, a);
    case FrameType::kSnapshotChunk: return handle_snapshot_chunk(*idx, a);
    default: stats_.bad_frames++;
  }
}

void Engine::handle_proposal(std::uint32_t from, const Array& a, std::uint64_t) {
  if (a.size() != 3 && a.size() != 4) { stats_.bad_frames++; return; }
  auto b = block_from(a[1], n_);
  if (!b.ok()) { stats_.bad_frames++; return; }
  std::optional<TC> tc;
  if (!a[2].is_nil()) {
    auto t = tc_from(a[2], n_);
    if (!t.ok() || !verify_tc(*t)) { stats_.bad_frames++; return; }
    tc = std::move(*t);
    process_tc(*tc);
  }
  const BlockPtr& blk = *b;
  if (proposals_seen_.size() >= 4096) proposals_seen_.clear();
  if (blk->view + 2 < view_ || ++proposals_seen_[{blk->view, from}] > kProposalsPerViewMax) {
    return;  // stale, or an equivocating proposer flooding one view
  }
  if (blk->proposer != from) {
    stats_.rejected_proposals++;
    return;
  }
  const Insert r = insert_block(blk);
  if (r == Insert::kMissingParent) {
    if (blk->height > committed_->height + kSyncGapMax) return start_state_sync();
    if (!sync_) request_blocks(from, blk->parent, fetch_count(blk->height));
    return;
  }
  if (r == Insert::kInvalid) { stats_.rejected_proposals++; return; }
  if (const Block* in = block(blk->hash)) maybe_vote(*in, tc);  // gone if it ended the epoch
}

void Engine::handle_vote(std::uint32_t from, const Array& a) {
  std::uint64_t view = 0;
  Hash hash{};
  if (a.size() != 4 || !a[1].is<std::int64_t>() || a[1].as<std::int64_t>() < 0 || !a[2].is<Bytes>() ||
      a[2].as<Bytes>().size() != 32 || !a[3].is<Bytes>() || a[3].as<Bytes>().size() != bls::kG1Bytes) {
    stats_.bad_frames++;
    return;
  }
  view = static_cast<std::uint64_t>(a[1].as<std::int64_t>());
  std::copy(a[2].as<Bytes>().begin(), a[2].as<Bytes>().end(), hash.begin());
  if (view + 2 < view_ || view > view_ + kViewsTrackedMax || view <= high_qc_.view) return;
  // One vote per signer and view: a second, conflicting one is ignored (and cannot grow memory).
  if (!vote_seen_.insert({view, from}).second) return;
  votes_[{view, hash}][from] = a[3].as<Bytes>();
  try_form_qc(view, hash);
}

void Engine::handle_timeout(std::uint32_t from, const Array& a) {
  if (a.size() < 4 || a.size() > 6 || !a[1].is<std::int64_t>() || a[1].as<std::int64_t>() < 0 || !a[3].is<Bytes>()) {
    stats_.bad_frames++;
    return;
  }
  const std::uint64_t epoch = set_.epoch;
  if (a.size() >= 5 && !a[4].is_nil()) {  // the sender's latest TC: lets a replica left behind move on
    auto tc = tc_from(a[4], n_);
    if (!tc.ok() || !verify_tc(*tc)) { stats_.bad_frames++; return; }
    process_tc(*tc);
  }
  const auto view = static_cast<std::uint64_t>(a[1].as<std::int64_t>());
  auto qc = qc_from(a[2], n_);
  if (!qc.ok() || qc->view >= view) { stats_.bad_frames++; return; }
  if (qc->view > high_qc_.view && verify_qc(*qc)) process_qc(*qc);  // evidence even from a far view
  if (set_.epoch != epoch) return;  // that QC ended the epoch the timeout was signed in
  if (view < view_ || view > view_ + kViewsTrackedMax || timeouts_[view].count(from)) return;
  if (!verify_memo(pks_[from], timeout_message(domain_, view, qc->view), a[3].as<Bytes>()) || !verify_qc(*qc)) {
    stats_.invalid_sigs++;
    return;
  }
  process_qc(*qc);
  if (view < view_ || set_.epoch != epoch) return;
  timeouts_[view][from] = TimeoutVote{qc->view, a[3].as<Bytes>()};
  if (timeouts_[view].size() >= f_plus_1() && timed_out_view_ < view && config_.byzantine != Byzantine::kWithhold) {
    advance_view(view, false);
    on_view_timeout();  // join: f+1 timeouts mean at least one honest replica gave up on it
  }
  auto found = timeouts_.find(view);  // the join above may have formed the TC and moved on
  if (found == timeouts_.end()) return;
  const auto& slot = found->second;
  if (slot.size() < quorum() || (last_tc_ && last_tc_->view >= view)) return;
  TC tc;
  tc.view = view;
  std::vector<Bytes> sigs;
  for (const auto& [s, t] : slot) {
    tc.entries.emplace_back(s, t.hqc_view);
    sigs.push_back(t.sig);
  }
  auto agg = bls::aggregate(kSuite.sig_group, sigs);
  if (!agg.ok()) return;
  tc.sig = std::move(*agg);
  stats_.tcs_formed++;
  process_tc(tc);
}

void Engine::handle_fetch(const PeerId& from, const Array& a) {
  if (a.size() != 3 || !a[1].is<Bytes>() || a[1].as<Bytes>().size() != 32 || !a[2].is<std::int64_t>()) {
    stats_.bad_frames++;
    return;
  }
  Hash h{};
  std::copy(a[1].as<Bytes>().begin(), a[1].as<Bytes>().end(), h.begin());
  const auto count = std::clamp<std::int64_t>(a[2].as<std::int64_t>(), 1, kFetchCountMax);
  std::vector<const Block*> chain;
  for (const Block* b = block(h); b && b->height > 0 && chain.size() < static_cast<std::size_t>(count);
       b = block(b->parent)) {
    chain.push_back(b);
  }
  if (chain.empty()) return;
  // The newest blocks that fit: the answer always ends at the block asked for.
  std::size_t keep = 0, bytes = 0;
  for (; keep < chain.size(); ++keep) {
    bytes += chain[keep]->encoded.size();
    if (bytes > config_.block_bytes_max && keep > 0) break;
  }
  Array blocks;
  for (std::size_t i = keep; i-- > 0;) blocks.push_back(block_value(*chain[i]));
  const Bytes frame = codec::encode(Value(Array{Value(static_cast<int>(FrameType::kBlocks)), Value(std::move(blocks))}));
  send_peer(from, frame);
}

void Engine::handle_blocks(const PeerId& from, const Array& a) {
  if (a.size() != 2 || !a[1].is<Array>() || a[1].as<Array>().size() > kFetchCountMax) { stats_.bad_frames++; return; }
  std::vector<BlockPtr> chain;
  for (const auto& v : a[1].as<Array>()) {
    auto b = block_from(v, n_);
    if (!b.ok() || (!chain.empty() && (*b)->parent != chain.back()->hash)) { stats_.bad_frames++; return; }
    chain.push_back(std::move(*b));
  }
  if (chain.empty() || !requested_.erase(chain.back()->hash)) return;  // only what we asked for
  if (sync_ && sync_->anchoring && anchor_snapshot(chain)) return;
  bool first = true;
  const std::uint64_t epoch = set_.epoch;
  for (const auto& b : chain) {
    if (set_.epoch != epoch) return;  // the blocks above the root of the new epoch are void
    // An answer may reach below our committed height (after a state sync we hold no blocks
    // there): those are not needed, and insert_block would call them invalid and drop the rest.
    if (b->height <= committed_->height) continue;
    const Insert r = insert_block(b);
    if (r == Insert::kMissingParent && first) request_blocks(from, b->parent, fetch_count(b->height));
    if (r == Insert::kInvalid) return;
    first = false;
  }
}

void Engine::handle_txs(const Array& a) {
  if (a.size() != 2 || !a[1].is<Array>() || a[1].as<Array>().size() > kTxsPerFrameMax) { stats_.bad_frames++; return; }
  if (!is_validator()) return;
  for (const auto& t : a[1].as<Array>()) {
    if (t.is<Bytes>()) (void)submit(t.as<Bytes>(), now_ms_);
  }
}

// ---- certificates and blocks -----------------------------------------------------------------

bool Engine::verify_qc(const QC& qc) {
  if (qc.bitmap.empty() && qc.sig.empty()) return qc.view == epoch_root_qc_.view && qc.hash == epoch_root_qc_.hash;
  if (popcount(qc.bitmap) < quorum() || qc.sig.size() != bls::kG1Bytes) return false;
  for (std::size_t i = n_; i < qc.bitmap.size() * 8; ++i) {
    if (bit(qc.bitmap, i)) return false;
  }
  const Hash key = sha256(codec::encode(qc_value(qc)));
  if (verified_qcs_.count(key)) return true;
  auto pk = aggregate_key(qc.bitmap);
  if (!pk.ok() || !verify_memo(*pk, vote_message(domain_, qc.view, qc.hash), qc.sig)) {
    stats_.invalid_sigs++;
    return false;
  }
  if (verified_qcs_.size() >= kQcCacheMax) verified_qcs_.clear();
  verified_qcs_.insert(key);
  return true;
}

// The signers' summed public key (FastAggregateVerify is sound: every key came with a checked
// proof of possession). Signer sets repeat from view to view, so the decoded sum is cached.
Result<bls::PublicKey> Engine::aggregate_key(const Bytes& bitmap) {
  if (auto it = agg_keys_.find(bitmap); it != agg_keys_.end()) return it->second;
  std::vector<Bytes> pks;
  for (std::size_t i = 0; i < n_; ++i) {
    if (bit(bitmap, i)) pks.push_back(pks_[i].bytes());
  }
  auto sum = bls::aggregate(kSuite.pk_group(), pks);
  if (!sum.ok()) return sum.status();
  auto key = bls::PublicKey::decode(kSuite.pk_group(), *sum);
  if (!key.ok()) return key.status();
  if (agg_keys_.size() >= 64) agg_keys_.clear();
  agg_keys_.emplace(bitmap, *key);
  return *key;
}

bool Engine::verify_tc(const TC& tc) {
  std::set<std::uint32_t> signers;
  for (const auto& e : tc.entries) {
    if (e.second >= tc.view || !signers.insert(e.first).second) return false;
  }
  if (signers.size() < quorum()) return false;
  const Hash key = sha256(codec::encode(tc_value(tc)));
  if (verified_qcs_.count(key)) return true;
  std::vector<Bytes> pks, msgs;
  for (const auto& [s, hv] : tc.entries) {
    pks.push_back(pks_[s].bytes());
    msgs.push_back(timeout_message(domain_, tc.view, hv));
  }
  const Hash memo = sha256(codec::encode(Value(Array{tc_value(tc), Value(domain_)})));
  if (!verified_memo.count(memo)) {
    auto ok = bls::aggregate_verify(kSuite, pks, msgs, tc.sig);
    if (!ok.ok() || !*ok) { stats_.invalid_sigs++; return false; }
    verified_memo.insert(memo);
  }
  if (verified_qcs_.size() >= kQcCacheMax) verified_qcs_.clear();
  verified_qcs_.insert(key);
  return true;
}

Engine::Insert Engine::insert_block(const BlockPtr& b) {
  if (blocks_.count(b->hash)) return Insert::kOk;
  if (b->height == 0 || b->height <= committed_->height) return Insert::kInvalid;
  const Block* parent = block(b->parent);
  if (!parent) {
    if (pending_count_ >= kPendingMax) {  // stale forks or a long catch-up: start over, refetch
      pending_.clear();
      pending_count_ = 0;
    }
    pending_[b->parent].push_back(b);
    pending_count_++;
    return Insert::kMissingParent;
  }
  const bool shape_ok = b->view > parent->view && b->height == parent->height + 1 && b->justify.hash == parent->hash &&
                        b->justify.view == parent->view && b->time_ms >= parent->time_ms &&
                        b->txs.size() <= config_.txs_per_block_max && b->encoded.size() <= config_.block_bytes_max;
  if (!shape_ok) return Insert::kInvalid;
  const auto exec = expected_exec(*parent);
  if (b->exec_height != exec.first) return Insert::kInvalid;
  if (exec.first == parent->exec_height && b->exec_root != parent->exec_root) return Insert::kInvalid;
  if (!verify_qc(b->justify)) return Insert::kInvalid;
  blocks_[b->hash] = b;
  process_qc(b->justify);
  if (!blocks_.count(b->hash)) return Insert::kInvalid;  // its QC ended the epoch: b is void
  take_epoch_qc(b->hash);
  if (!blocks_.count(b->hash)) return Insert::kInvalid;
  insert_pending_children(b->hash);
  try_propose();  // it may be the block our highest QC certifies
  return Insert::kOk;
}

void Engine::insert_pending_children(const Hash& parent) {
  auto it = pending_.find(parent);
  if (it == pending_.end()) return;
  auto children = std::move(it->second);
  pending_.erase(it);
  pending_count_ -= children.size();
  for (const auto& c : children) {
    if (insert_block(c) != Insert::kOk) continue;
    if (const Block* in = block(c->hash)) maybe_vote(*in, std::nullopt);
  }
}

// The (height, root) a child of `parent` must carry: the highest block its ancestry commits.
std::pair<std::uint64_t, Hash> Engine::expected_exec(const Block& parent) const {
  if (parent.height >= 1) {
    const Block* g = block(parent.parent);
    if (g && g->view + 1 == parent.view && g->height > parent.exec_height) {
      auto r = executed_root(g->height);
      return {g->height, r ? *r : Hash{}};
    }
  }
  return {parent.exec_height, parent.exec_root};
}

std::optional<Hash> Engine::executed_root(std::uint64_t height) const {
  auto it = roots_by_height_.find(height);
  if (it == roots_by_height_.end()) return std::nullopt;
  return it->second;
}

void Engine::process_qc(const QC& qc) {
  if (qc.view > high_qc_.view) high_qc_ = qc;
  try_commit(qc);
  if (auto it = blocks_.find(qc.hash); it != blocks_.end() && qc.view > 0) {
    check_certified_root(*it->second);
    certify_snapshot(*it->second, qc);
    auto& slot = certified_roots_[it->second->exec_root];
    if (!slot.first || slot.first->height < it->second->height) slot = {it->second, qc};
    if (certified_roots_.size() > 64) certified_roots_.clear();
  }
  advance_view(qc.view + 1, true);
}

void Engine::process_tc(const TC& tc) {
  if (!last_tc_ || tc.view > last_tc_->view) last_tc_ = tc;
  advance_view(tc.view + 1, false);
}

void Engine::try_commit(const QC& qc) {
  const Block* b1 = block(qc.hash);
  if (!b1 || b1->height == 0) return;
  const Block* b0 = block(b1->parent);
  if (b0 && b0->view + 1 == b1->view && b0->height > committed_->height) {
    committing_qc_ = &qc;
    commit_chain(b0);
    committing_qc_ = nullptr;
  }
}

void Engine::commit_chain(const Block* b0) {
  std::vector<const Block*> chain;
  const Block* b = b0;
  while (b && b->height > committed_->height) {
    chain.push_back(b);
    b = block(b->parent);
  }
  if (!b) return;  // an ancestor is missing: commit when it arrives
  // Two QC chains that commit conflicting blocks would need 2f+1 + 2f+1 votes from 3f+1 with at
  // most f equivocating: impossible. Reaching another block at our committed height is a bug.
  NITRO_ASSERT(b == committed_);
  const std::uint64_t epoch = set_.epoch;
  for (auto it = chain.rbegin(); it != chain.rend() && !halted_ && set_.epoch == epoch; ++it) execute(**it);
  if (!halted_ && committed_->height >= snapshot_height_ + config_.snapshot_interval) take_snapshot();
}

void Engine::execute(const Block& b) {
  const chain::BlockContext bc{b.height, b.time_ms, set_.members[b.proposer].id, 0};
  std::vector<Hash> ids;
  std::vector<const Tx*> decoded;
  ids.reserve(b.txs.size());
  decoded.reserve(b.txs.size());
  for (const auto& t : b.txs) {
    ids.push_back(sha256(t));
    auto m = mempool_.by_id.find(ids.back());
    decoded.push_back(m == mempool_.by_id.end() ? nullptr : m->second.decoded.get());
  }
  auto outs = exec_.execute(bc, b.txs, decoded);
  hand_over_revocations(outs);
  committed_ = &b;
  committed_by_height_[b.height] = b.hash;
  roots_by_height_[b.height] = exec_.root();
  ops_by_height_[b.height] = outs.size();
  while (committed_by_height_.size() > kBlocksKeptMax) committed_by_height_.erase(committed_by_height_.begin());
  while (roots_by_height_.size() > kBlocksKeptMax) roots_by_height_.erase(roots_by_height_.begin());
  while (ops_by_height_.size() > kBlocksKeptMax) ops_by_height_.erase(ops_by_height_.begin());
  if (ctx_) {
    ctx_->store_put(block_key(b.height), b.encoded);
    stored_blocks_.insert(b.height);
  }
  for (const Hash& id : ids) {
    if (auto m = mempool_.by_id.find(id); m != mempool_.by_id.end()) {
      mempool_.bytes -= m->second.tx.size();
      auto& q = mempool_.by_sender[m->second.sender];
      if (!q.empty() && q.front() == id) q.pop_front();
      else if (auto f = std::find(q.begin(), q.end(), id); f != q.end()) q.erase(f);
      if (q.empty()) mempool_.by_sender.erase(m->second.sender);
      mempool_.by_id.erase(m);
    }
    if (committed_ids_.insert(id).second) committed_ids_order_.push_back(id);
  }
  while (committed_ids_order_.size() > kCommittedIdsMax) {
    committed_ids_.erase(committed_ids_order_.front());
    committed_ids_order_.pop_front();
  }
  stats_.commits++;
  stats_.txs_committed += outs.size();
  emit_commit(b, outs);
  if (set_changed()) return begin_epoch(b);
  if (b.height % 64 == 0) {  // forget forks below the committed height and old committed blocks
    for (auto it = blocks_.begin(); it != blocks_.end();) {
      const Block& x = *it->second;
      const bool stale_fork = x.height <= b.height && committed_by_height_.count(x.height) &&
                              committed_by_height_[x.height] != x.hash;
      const bool old = x.height + kBlocksKeptMax < b.height;
      it = (stale_fork || old) && x.height > 0 ? blocks_.erase(it) : std::next(it);
    }
  }
}

// A QC on a block means 2f+1 validators (f+1 honest) matched the root it carries against their
// own execution. If ours differs, this node's execution diverged: halt rather than fork.
void Engine::check_certified_root(const Block& b) {
  if (b.height == 0 || halted_) return;
  auto mine = executed_root(b.exec_height);
  if (mine && *mine != b.exec_root) halt(b.exec_height, "state root diverged from the certified one");
}

void Engine::halt(std::uint64_t height, const std::string& reason) {
  halted_ = "chain halted at height " + std::to_string(height) + ": " + reason;
  if (ctx_) ctx_->emit(codec::encode(map_of({{"type", Value("halted")}, {"height", Value(height)}, {"reason", Value(*halted_)}})));
}

// ---- pacemaker and roles ---------------------------------------------------------------------

void Engine::advance_view(std::uint64_t v, bool progress) {
  if (progress) failed_views_ = 0;
  if (v <= view_) return;
  view_ = v;
  view_deadline_ms_ = now_ms_ + timeout_ms();
  while (!votes_.empty() && votes_.begin()->first.first + 2 < view_) votes_.erase(votes_.begin());
  while (!vote_seen_.empty() && vote_seen_.begin()->first + 2 < view_) vote_seen_.erase(vote_seen_.begin());
  while (!proposals_seen_.empty() && proposals_seen_.begin()->first.first + 2 < view_) proposals_seen_.erase(proposals_seen_.begin());
  while (!timeouts_.empty() && timeouts_.begin()->first < view_) timeouts_.erase(timeouts_.begin());
  try_propose();
}

std::uint64_t Engine::timeout_ms() const {
  const std::uint64_t t = config_.timeout_ms << std::min<std::uint32_t>(failed_views_, 6);
  return std::min(t, config_.timeout_ms_max);
}

void Engine::on_view_timeout() {
  if (!is_validator() || config_.byzantine == Byzantine::kWithhold) return;
  if (timed_out_view_ < view_) failed_views_++;
  stats_.timeouts++;
  timed_out_view_ = view_;
  last_voted_view_ = std::max(last_voted_view_, view_);  // never vote in a view we gave up on
  persist_safety();
  send_timeout();
  view_deadline_ms_ = now_ms_ + timeout_ms();
}

void Engine::send_timeout() {
  const Bytes sig = bls::sign(*config_.bls_sk, kSuite, timeout_message(domain_, view_, high_qc_.view));
  const Value tc = last_tc_ ? tc_value(*last_tc_) : Value();
  const Bytes frame = codec::encode(Value(Array{Value(static_cast<int>(FrameType::kTimeout)), Value(view_),
                                                qc_value(high_qc_), Value(sig), tc, Value(set_.epoch)}));
  send_all(frame);
  Array local{Value(static_cast<int>(FrameType::kTimeout)), Value(view_), qc_value(high_qc_), Value(sig)};
  if (!timeouts_[view_].count(self_)) handle_timeout(self_, local);
}

void Engine::maybe_vote(const Block& b, const std::optional<TC>& tc) {
  if (!is_validator() || halted_ || config_.byzantine == Byzantine::kWithhold) return;
  const bool reckless = config_.byzantine == Byzantine::kConflictVotes;
  if (!reckless) {
    if (b.view != view_ || b.view <= last_voted_view_) return;
    if (leader(b.view, b.parent) != b.proposer) { stats_.rejected_proposals++; return; }
    const bool direct = b.justify.view + 1 == b.view;
    const bool via_tc = tc && tc->view + 1 == b.view && b.justify.view >= tc->max_hqc_view();
    if (!direct && !via_tc) return;
    auto root = executed_root(b.exec_height);
    if (!root || *root != b.exec_root) { stats_.rejected_proposals++; return; }
    std::set<Hash> ids;
    for (const auto& t : b.txs) {
      const Hash id = sha256(t);
      if (committed_ids_.count(id) || !ids.insert(id).second) {
        stats_.rejected_proposals++;
        return;
      }
      if (mempool_.by_id.count(id)) continue;  // its signature was checked on admission
      auto tx = decode_tx(t);
      if (!tx.ok() || !verify_tx(*tx)) {
        stats_.rejected_proposals++;
        return;
      }
    }
  }
  last_voted_view_ = std::max(last_voted_view_, b.view);
  persist_safety();
  const Bytes sig = bls::sign(*config_.bls_sk, kSuite, vote_message(domain_, b.view, b.hash));
  Array vote{Value(static_cast<int>(FrameType::kVote)), Value(b.view), hash_value(b.hash), Value(sig)};
  const Bytes frame = codec::encode(Value(vote));
  stats_.votes_sent++;
  if (reckless) {
    send_all(frame);
    Hash junk{};
    ctx_->random_bytes(junk);
    send_all(codec::encode(Value(Array{Value(static_cast<int>(FrameType::kVote)), Value(b.view), hash_value(junk),
                                       Value(bls::sign(*config_.bls_sk, kSuite, vote_message(domain_, b.view, junk)))})));
    return;
  }
  const std::uint32_t next = leader(b.view + 1, b.hash);
  if (next == self_) handle_vote(self_, vote); else send_to(next, frame);
}

void Engine::try_form_qc(std::uint64_t view, const Hash& hash) {
  auto& slot = votes_[{view, hash}];
  if (slot.size() < quorum() || view <= high_qc_.view) return;
  QC qc;
  qc.view = view;
  qc.hash = hash;
  std::vector<Bytes> sigs;
  for (const auto& [s, sig] : slot) {
    set_bit(qc.bitmap, s);
    sigs.push_back(sig);
  }
  auto agg = bls::aggregate(kSuite.sig_group, sigs);
  auto pk = aggregate_key(qc.bitmap);
  if (!agg.ok() || !pk.ok() || !verify_memo(*pk, vote_message(domain_, view, hash), *agg)) {  // someone sent a bad signature: keep only the valid votes
    for (auto it = slot.begin(); it != slot.end();) {
      if (verify_memo(pks_[it->first], vote_message(domain_, view, hash), it->second)) { ++it; continue; }
      stats_.invalid_sigs++;
      it = slot.erase(it);
    }
    return;
  }
  qc.sig = std::move(*agg);
  stats_.qcs_formed++;
  std::uint32_t holder = self_;  // a voter other than us has the block
  for (const auto& [s, sig] : slot) {
    if (s != self_) holder = s;
  }
  verified_qcs_.insert(sha256(codec::encode(qc_value(qc))));
  const std::uint64_t epoch = set_.epoch;
  process_qc(qc);
  if (!block(hash) && set_.epoch == epoch) request_blocks(holder, hash, kFetchCountMax);
}

void Engine::try_propose() {
  if (!started_ || halted_ || !is_validator() || !ctx_ || view_ <= proposed_view_) return;
  if (config_.byzantine == Byzantine::kWithhold) return;
  const Block* parent = block(high_qc_.hash);
  if (!parent || leader(view_, high_qc_.hash) != self_) return;
  const bool via_tc = last_tc_ && last_tc_->view + 1 == view_;
  if (high_qc_.view + 1 != view_ && !via_tc) return;
  propose_retry_ms_ = UINT64_MAX;
  std::uint64_t wait_until = config_.block_interval_ms ? last_proposal_ms_ + config_.block_interval_ms : 0;
  if (!has_work(*parent)) wait_until = std::max(wait_until, last_proposal_ms_ + config_.empty_block_ms);
  if (now_ms_ < wait_until) {
    propose_retry_ms_ = wait_until;
    return;
  }
  const auto exec = expected_exec(*parent);
  if (exec.first != parent->exec_height && !executed_root(exec.first)) return;
  Block b;
  b.view = view_;
  b.height = parent->height + 1;
  b.parent = parent->hash;
  b.justify = high_qc_;
  b.time_ms = std::max(now_ms_, parent->time_ms);
  b.proposer = self_;
  b.exec_height = exec.first;
  b.exec_root = exec.second;
  b.txs = pick_txs(*parent);
  proposed_view_ = view_;
  last_proposal_ms_ = now_ms_;
  stats_.proposals++;
  const Value tc = via_tc ? tc_value(*last_tc_) : Value();
  if (config_.byzantine == Byzantine::kInvalidQc) b.justify.sig.assign(bls::kG1Bytes, 0xab);
  if (config_.byzantine == Byzantine::kEquivocate) {
    for (std::uint32_t i = 0; i < n_; ++i) {
      Block v = b;
      v.time_ms += i;
      auto sealed = seal(std::move(v));
      if (i != self_) send_to(i, codec::encode(Value(Array{Value(1), block_value(*sealed), tc, Value(set_.epoch)})));
    }
  }
  auto sealed = seal(std::move(b));
  const Bytes frame = codec::encode(Value(Array{Value(static_cast<int>(FrameType::kProposal)), block_value(*sealed), tc,
                                                Value(set_.epoch)}));
  if (config_.byzantine != Byzantine::kEquivocate) send_all(frame);
  const std::optional<TC> via = last_tc_ && via_tc ? last_tc_ : std::nullopt;
  if (insert_block(sealed) == Insert::kOk) {
    if (const Block* in = block(sealed->hash)) maybe_vote(*in, via);
  }
}

// Something to commit: txs waiting, or txs in uncommitted ancestors that need descendants.
bool Engine::has_work(const Block& parent) const {
  if (!mempool_.by_id.empty()) return true;
  for (const Block* b = &parent; b && b->height > committed_->height; b = block(b->parent)) {
    if (!b->txs.empty()) return true;
  }
  return false;
}

std::vector<Bytes> Engine::pick_txs(const Block& parent) {
  std::set<Hash> in_flight;  // txs in uncommitted ancestors
  for (const Block* b = &parent; b && b->height > committed_->height; b = block(b->parent)) {
    for (const auto& t : b->txs) in_flight.insert(sha256(t));
  }
  std::vector<Bytes> out;
  std::size_t bytes = 0;
  std::map<PeerId, std::size_t> pos;
  for (bool progress = true; progress && out.size() < config_.txs_per_block_max;) {
    progress = false;
    for (const auto& [sender, q] : mempool_.by_sender) {
      auto& p = pos[sender];
      while (p < q.size() && (in_flight.count(q[p]) || !mempool_.by_id.count(q[p]))) ++p;
      if (p >= q.size()) continue;
      const Bytes& tx = mempool_.by_id[q[p]].tx;
      if (bytes + tx.size() + 64 > config_.block_bytes_max / 2 || out.size() >= config_.txs_per_block_max) break;
      out.push_back(tx);
      bytes += tx.size();
      ++p;
      progress = true;
    }
  }
  return out;
}

// [last voted view, high QC, timed-out view, epoch, latest TC | nil]. The TC is the evidence for
// the view a restart resumes in: a replica that entered view v through TC(v - 1), timed out in v
// and restarted without it sends timeouts for v that nobody still in v - 1 can follow, and it no
// longer signs for v - 1 itself, so when its vote is needed for TC(v - 1) the view never changes
// again (swarm seed 2790272781119427: the TC never left its partition side before the crash).
void Engine::persist_safety() {
  if (!ctx_) return;
  ctx_->store_put("safety", codec::encode(Value(Array{Value(last_voted_view_), qc_value(high_qc_), Value(timed_out_view_),
                                                      Value(set_.epoch), last_tc_ ? tc_value(*last_tc_) : Value()})));
}

// A state installed by state sync first, then the committed blocks above it replay through the
// executor (so the state is rebuilt); the safety record
// restores the last voted view and the highest QC so a restarted validator never votes twice.
void Engine::restore(StoredRecords records) {
  // Epochs replayed here switch quietly: nothing is announced and no opening timeout is sent.
  struct Quiet {
    bool& flag;
    explicit Quiet(bool& f) : flag(f) { flag = true; }
    ~Quiet() { flag = false; }
  } quiet(restoring_);
  for (const auto& [key, bytes] : records) {
    if (key.starts_with("e/")) epoch_proofs_[std::strtoull(key.c_str() + 2, nullptr, 16)] = bytes;
  }
  if (auto snap = records.find("snap"); snap != records.end() && restore_snapshot(snap->second)) restore_epoch_root();
  for (const auto& [key, bytes] : records) {  // every record on disk is pruned in time
    if (key.starts_with("b/")) stored_blocks_.insert(std::strtoull(key.c_str() + 2, nullptr, 16));
  }
  std::map<std::uint64_t, BlockPtr> below;  // under the snapshot: kept to serve block sync
  for (auto& [key, bytes] : records) {
    if (!key.starts_with("b/")) continue;
    auto v = codec::decode(bytes);
    if (!v.ok()) break;
    auto b = block_from(*v, n_);
    if (b.ok() && (*b)->height <= committed_->height) {
      below.emplace((*b)->height, *b);
      continue;
    }
    if (!b.ok() || (*b)->parent != committed_->hash || (*b)->height != committed_->height + 1) break;
    blocks_[(*b)->hash] = *b;
    execute(*blocks_[(*b)->hash]);  // through begin_epoch where a block changed the set
  }
  // Link the blocks under the snapshot's chain, newest first, while each is the parent we hold.
  const Block* low = committed_;
  while (low->height > 0 && block(low->parent)) low = block(low->parent);
  while (low->height > 1) {
    auto it = below.find(low->height - 1);
    if (it == below.end() || it->second->hash != low->parent) break;
    blocks_[it->second->hash] = it->second;  // served to block sync; their roots are not kept
    low = it->second.get();
  }
  auto it = records.find("safety");
  if (it == records.end()) return;
  auto v = codec::decode(it->second);
  if (!v.ok() || !v->is<Array>() || v->as<Array>().size() < 3 || v->as<Array>().size() > 5) return;
  const auto& a = v->as<Array>();
  auto qc = qc_from(a[1], n_);
  if (!a[0].is<std::int64_t>() || !a[2].is<std::int64_t>() || !qc.ok()) return;
  // Views only grow across epochs, so the last voted view holds in any epoch; the QC only in its own.
  const bool same_epoch = a.size() == 3 ? set_.epoch == 0 : a[3] == Value(set_.epoch);
  last_voted_view_ = static_cast<std::uint64_t>(a[0].as<std::int64_t>());
  timed_out_view_ = static_cast<std::uint64_t>(a[2].as<std::int64_t>());
  if (same_epoch && qc->view > high_qc_.view) high_qc_ = *qc;
  view_ = last_voted_view_;
  if (a.size() < 5 || a[4].is_nil() || !same_epoch) return;  // a TC, like a QC, counts in its epoch only
  if (auto tc = tc_from(a[4], n_); tc.ok()) {
    last_tc_ = std::move(*tc);
    view_ = std::max(view_, last_tc_->view + 1);
  }
}

// ---- output and host calls -------------------------------------------------------------------

void Engine::send_to(std::uint32_t to, const Bytes& frame) {
  if (to == self_ || !ctx_ || to >= n_) return;
  send_peer(set_.members[to].id, frame);
}

// Over the direct link; if there is none and no address to dial (the overlay connects each node
// to a few peers only, and a node learns addresses from its neighbours, so with more validators
// than the active view some pairs know nothing of each other), relayed by the overlay as a
// broadcast naming the addressee. Its origin signature keeps the sender authenticated. Without
// this, a pair of honest validators that never link loses every vote and timeout between them,
// and with f validators withholding that alone stops every quorum.
void Engine::send_peer(const PeerId& to, const Bytes& frame) {
  stats_.frames_out++;
  const Status st = ctx_->send(to, frame);
  if (st.code() != Code::kUnavailable) return;
  stats_.relayed++;
  (void)ctx_->publish(relay_topic_, codec::encode(Value(Array{Value(Bytes(to.bytes().begin(), to.bytes().end())), Value(frame)})));
}

void Engine::on_broadcast(const std::string& topic, const PeerId& origin, std::span<const std::uint8_t> payload,
                          std::uint64_t now_ms) {
  if (topic != relay_topic_ || !ctx_) return;
  auto v = codec::decode(payload);
  if (!v.ok() || !v->is<Array>() || v->as<Array>().size() != 2 || !v->as<Array>()[0].is<Bytes>() ||
      !v->as<Array>()[1].is<Bytes>()) {
    stats_.bad_frames++;
    return;
  }
  const Bytes& to = v->as<Array>()[0].as<Bytes>();
  const auto& me = ctx_->local_id().bytes();
  if (!std::equal(to.begin(), to.end(), me.begin(), me.end())) return;  // for another node
  on_message(origin, v->as<Array>()[1].as<Bytes>(), now_ms);
}

void Engine::send_all(const Bytes& frame) {
  for (std::uint32_t i = 0; i < n_; ++i) send_to(i, frame);
}

// Blocks to ask for below a block at `height` we miss the parent of: down to our committed tip.
std::size_t Engine::fetch_count(std::uint64_t height) const {
  return static_cast<std::size_t>(std::clamp<std::uint64_t>(height - std::min(height, committed_->height + 1), 1, kFetchCountMax));
}

void Engine::request_blocks(std::uint32_t from, const Hash& hash, std::size_t count) {
  if (from != self_ && from < n_) request_blocks(set_.members[from].id, hash, count);
}

void Engine::request_blocks(const PeerId& from, const Hash& hash, std::size_t count) {
  if (!ctx_ || from == self_id_) return;
  if (requested_.size() >= 1024) requested_.clear();
  requested_.insert(hash);
  send_peer(from, codec::encode(Value(Array{Value(static_cast<int>(FrameType::kFetch)), hash_value(hash),
                                          Value(std::uint64_t{std::max<std::size_t>(count, 1)})})));
}

void Engine::emit_commit(const Block& b, const std::vector<TxOutcome>& outs) {
  if (!ctx_) return;
  ctx_->emit(codec::encode(map_of({{"type", Value("commit")}, {"height", Value(b.height)}, {"view", Value(b.view)},
                                   {"hash", hash_value(b.hash)}, {"txs", Value(std::uint64_t{outs.size()})},
                                   {"state_root", hash_value(exec_.root())}, {"time_ms", Value(b.time_ms)}})));
  const PeerId& me = ctx_->local_id();
  std::vector<const TxOutcome*> mine;
  for (const auto& o : outs) {
    if (o.sender == me) mine.push_back(&o);
  }
  emit_outcomes(b.height, mine);
}

// The outcomes of this node's ops, one event for all of them (an event per op cost the host an
// encode, a crossing and a decode each): {type: "txs", height, ids: 32 bytes per op,
// results: [result | [code, message]...], ok: [bool...]}.
void Engine::emit_outcomes(std::uint64_t height, const std::vector<const TxOutcome*>& outs) {
  if (outs.empty()) return;
  Bytes ids;
  ids.reserve(outs.size() * 32);
  Array ok, results;
  ok.reserve(outs.size());
  results.reserve(outs.size());
  for (const TxOutcome* o : outs) {
    ids.insert(ids.end(), o->id.begin(), o->id.end());
    ok.push_back(Value(o->ok));
    results.push_back(o->ok ? o->result : Value(Array{Value(code_name(o->error.code())), Value(o->error.message())}));
  }
  ctx_->emit(codec::encode(map_of({{"type", Value("txs")}, {"height", Value(height)}, {"ids", Value(std::move(ids))},
                                   {"ok", Value(std::move(ok))}, {"results", Value(std::move(results))}})));
}

// Committed revocations reach the node's access protocol (nitro/auth.h), which honours them from
// now on: a replica that missed their gossip still learns them from the blocks it applies.
void Engine::hand_over_revocations(const std::vector<TxOutcome>& outs) {
  if (!ctx_) return;
  for (const auto& o : outs) {
    const Value* record = o.ok && o.op == auth::kChainRevokeOp ? o.result.find("record") : nullptr;
    if (record && record->is<Bytes>()) ctx_->committed_revocation(record->as<Bytes>());
  }
}

// Access control at mempool admission (local policy; proposals are not re-checked, so validators
// with different rules still agree): lock operations are the "sync" class on the lock's name,
// every other operation "chain.submit" on the operation's name. A bundle is admitted only if
// every op in it is.
Status Engine::authorize_tx(ProtocolContext& ctx, const Tx& tx) {
  for (const TxOp& op : tx.ops) {
    if (op.op.rfind("sync.", 0) == 0) {
      const Value* name = op.args.find("name");
      NITRO_TRY(ctx.authorize(tx.sender, "sync", name && name->is<std::string>() ? name->as<std::string>() : op.op));
    } else {
      NITRO_TRY(ctx.authorize(tx.sender, "chain.submit", op.op));
    }
  }
  return Status::ok_status();
}

Result<Bytes> Engine::submit(Bytes tx, std::uint64_t now_ms) { return admit(std::move(tx), now_ms, false); }

Result<Bytes> Engine::admit(Bytes tx, std::uint64_t now_ms, bool signed_here) {
  now_ms_ = std::max(now_ms_, now_ms);
  if (tx.size() > kBundleBytesMax + 4096) return Status(invalid_argument("chain: tx too large"));
  const Hash id = sha256(tx);
  const Bytes id_bytes(id.begin(), id.end());
  if (mempool_.by_id.count(id) || committed_ids_.count(id)) return id_bytes;  // dedup
  auto decoded = decode_tx(tx);
  if (!decoded.ok()) return decoded.status();
  if (!signed_here && !verify_tx(*decoded)) return Status(invalid_argument("chain: bad tx signature"));
  if (ctx_) NITRO_TRY(authorize_tx(*ctx_, *decoded));
  const PeerId sender = decoded->sender;
  if (is_validator()) {
    auto& q = mempool_.by_sender[sender];
    if (mempool_.by_id.size() >= config_.mempool_txs_max || mempool_.bytes + tx.size() > config_.mempool_bytes_max ||
        q.size() >= config_.mempool_per_sender_max) {
      if (q.empty()) mempool_.by_sender.erase(sender);
      return Status(resource_exhausted("chain: mempool full"));
    }
    q.push_back(id);
    mempool_.bytes += tx.size();
    mempool_.by_id.emplace(id, Pooled{tx, sender, std::make_shared<const Tx>(std::move(*decoded))});
  }
  if (ctx_ && sender == ctx_->local_id()) {
    outbox_bytes_ += tx.size();
    outbox_.push_back(Value(std::move(tx)));
    if (outbox_.size() >= 256 || outbox_bytes_ >= config_.block_bytes_max / 4) flush_txs();
  }
  try_propose();
  return id_bytes;
}

// Queues the op; the next tick signs everything queued as one bundle. The id is the op's
// (op_id), known now because the op's nonce is.
Result<Bytes> Engine::submit(const std::string& op, const Value& args, std::uint64_t now_ms) {
  now_ms_ = std::max(now_ms_, now_ms);
  if (!config_.identity_seed) return Status(failed_precondition("chain: no identity to sign txs with"));
  if (!identity_) identity_ = crypto::Identity::from_seed(*config_.identity_seed);
  // The validators module refuses a set change from a non-member at commit, but a non-member
  // hears no proposals, so it would never learn that outcome (its submit would wait for good):
  // refuse it here, against the set this node knows. A member left behind in an older epoch
  // passes here and its vote, naming that epoch, fails at commit.
  if (op.starts_with("validators.") && !index_of(identity_->peer_id())) {
    return Status(permission_denied(op + ": only a current validator votes on the set"));
  }
  const std::size_t bytes = codec::encode(args).size() + op.size() + 16;
  if (bytes > chain::kValueBytesMax + 4096) return Status(invalid_argument("chain: tx too large"));
  if (is_validator() && (mempool_.by_id.size() >= config_.mempool_txs_max ||
                         mempool_.bytes + queued_bytes_ + bytes > config_.mempool_bytes_max)) {
    return Status(resource_exhausted("chain: mempool full"));
  }
  if (nonce_ == 0 && ctx_) {  // a random start, so a restarted node never re-signs an old tx
    std::array<std::uint8_t, 4> r{};
    ctx_->random_bytes(r);
    nonce_ = (std::uint64_t{r[0]} << 40 | std::uint64_t{r[1]} << 32 | std::uint64_t{r[2]} << 24 | std::uint64_t{r[3]} << 16);
  }
  if (queued_ops_.size() >= kBundleOpsMax || queued_bytes_ + bytes > kBundleBytesMax - 1024) flush_ops();
  if (queued_ops_.empty()) queued_nonce_ = nonce_ + 1;
  const Hash id = op_id(identity_->peer_id(), ++nonce_);
  queued_ops_.push_back(TxOp{op, args});
  queued_bytes_ += bytes;
  return Bytes(id.begin(), id.end());
}

// Signs the queued ops as one bundle and admits it; if the mempool refuses it, each op's
// submitter hears so through a "txs" event.
void Engine::flush_ops() {
  if (queued_ops_.empty()) return;
  Tx tx{identity_->peer_id(), queued_nonce_, std::move(queued_ops_), {}, true};
  queued_ops_.clear();
  queued_bytes_ = 0;
  Bytes encoded = encode_signed_bundle(*identity_, tx.nonce, tx.ops);
  auto r = admit(std::move(encoded), now_ms_, true);
  if (r.ok() || !ctx_) return;
  std::vector<TxOutcome> failed(tx.ops.size());
  std::vector<const TxOutcome*> outs;
  for (std::size_t i = 0; i < failed.size(); ++i) {
    failed[i].id = op_id(tx.sender, tx.nonce + i);
    failed[i].error = r.status();
    outs.push_back(&failed[i]);
  }
  emit_outcomes(0, outs);
}

// Txs submitted here go to the validators in batches: one frame per tick instead of one per tx.
void Engine::flush_txs() {
  if (outbox_.empty()) return;
  send_all(codec::encode(Value(Array{Value(static_cast<int>(FrameType::kTxs)), Value(std::move(outbox_))})));
  outbox_ = Array{};
  outbox_bytes_ = 0;
}

void Engine::on_peer_up(const PeerId&, std::uint64_t now_ms) { now_ms_ = now_ms; }

void Engine::byzantine_tick() {
  if (config_.byzantine != Byzantine::kGarbage) return;
  Bytes junk(16 + (now_ms_ % 200));
  ctx_->random_bytes(junk);
  send_all(junk);
  Hash h{};
  ctx_->random_bytes(h);
  send_all(codec::encode(Value(Array{Value(2), Value(view_), hash_value(h), Value(Bytes(bls::kG1Bytes, 7))})));
  send_all(codec::encode(Value(Array{Value(5), Value(Array{Value(Array{Value(1)})})})));
}

void Engine::tick(std::uint64_t now_ms) {
  now_ms_ = now_ms;
  if (!started_) {
    if (now_ms < config_.start_ms) return;
    started_ = true;
    view_deadline_ms_ = now_ms_ + timeout_ms();
    if (view_ == 0) advance_view(1, true);
  }
  if (open_epoch_ && !halted_) {
    open_epoch_ = false;
    on_view_timeout();
  }
  flush_ops();
  flush_txs();
  if (halted_) return;
  if (sync_ && now_ms >= sync_->deadline_ms) sync_timeout();
  if (now_ms >= view_deadline_ms_) on_view_timeout();
  if (now_ms >= view_deadline_ms_) view_deadline_ms_ = now_ms_ + timeout_ms();
  try_propose();
  byzantine_tick();
}

std::optional<std::uint64_t> Engine::next_deadline() const {
  if (!started_) return config_.start_ms;
  if (halted_) return std::nullopt;
  std::uint64_t d = view_deadline_ms_;
  d = std::min(d, propose_retry_ms_);
  if (sync_) d = std::min(d, sync_->deadline_ms);
  if (!outbox_.empty() || !queued_ops_.empty() || open_epoch_) d = now_ms_;
  if (config_.byzantine == Byzantine::kGarbage) d = std::min(d, now_ms_ + 50);
  return std::max(d, now_ms_ + 1);
}

Result<Bytes> Engine::read_proof(const std::string& key) const {
  auto it = certified_roots_.find(exec_.root());
  if (it == certified_roots_.end()) return Status(unavailable("chain: no certified header for the current state yet"));
  return codec::encode(Value(Array{header_value(*it->second.first), qc_value(it->second.second), Value(key),
                                   state_proof(exec_.store(), exec_.revision(), key)}));
}

std::optional<CommittedBlock> Engine::committed(std::uint64_t height) const {
  auto it = committed_by_height_.find(height);
  if (it == committed_by_height_.end()) return std::nullopt;
  const Block* b = block(it->second);
  if (!b) return std::nullopt;
  auto r = executed_root(height);
  auto ops = ops_by_height_.find(height);
  return CommittedBlock{height, b->view, Bytes(b->hash.begin(), b->hash.end()),
                        r ? Bytes(r->begin(), r->end()) : Bytes{}, ops == ops_by_height_.end() ? 0 : ops->second};
}

}  // namespace nitro::consensus
