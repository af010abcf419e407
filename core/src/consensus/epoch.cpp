// Epochs: the switch to a new validator set (see nitro/consensus.h, "Validator set changes").
// The committed block R whose execution changed the set ends epoch e: blocks of epoch e above R
// are void (their txs stay in the mempools), and epoch e+1's chain grows from R with a root QC
// (R's view and hash, no signature: the genesis QC generalised). Votes and timeouts sign over a
// domain naming the epoch and the set, so no certificate ever mixes sets, and every replica
// opens the epoch with a timeout so the new set's first leader proposes through a TC.
// A replica still in epoch e cannot check epoch e+1 until it knows R is committed; the proof is
// the QC (by set e) that committed R with the blocks it certifies down to R, kept per epoch
// ("e/<epoch>"), sent to both sets at the switch and on request to anyone showing an older epoch.
#include <cstdio>

#include "consensus/engine.h"
#include "nitro/assert.h"
#include "nitro/codec.h"

namespace nitro::consensus {
namespace {

std::string epoch_key(std::uint64_t epoch) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "e/%016llx", static_cast<unsigned long long>(epoch));
  return buf;
}

Bytes frame(std::initializer_list<Value> items) { return codec::encode(Value(Array(items))); }

}  // namespace

void Engine::adopt_set(ValidatorSet set) {
  set_ = std::move(set);
  n_ = set_.members.size();
  pks_.clear();
  const auto group = bls::kMinSigPop.pk_group();
  self_ = static_cast<std::uint32_t>(n_);
  for (std::uint32_t i = 0; i < n_; ++i) {
    auto pk = bls::PublicKey::decode(group, set_.members[i].bls_pk);
    NITRO_ASSERT(pk.ok());  // checked with its proof of possession before it entered any set
    pks_.push_back(*pk);
    // A member votes only with the key the set names: a node configured with another sits out.
    if (set_.members[i].id == self_id_ && config_.bls_sk && bls::sk_to_pk(*config_.bls_sk, group) == set_.members[i].bls_pk) {
      self_ = i;
    }
  }
  domain_ = signing_domain(config_.chain_id, set_.epoch, set_.hash());
}

bool Engine::set_changed() const {
  const chain::KvEntry* e = exec_.store().get(kValidatorSetKey);
  return e && e->mod_revision != set_revision_;
}

void Engine::begin_epoch(const Block& root) {
  const chain::KvEntry* e = exec_.store().get(kValidatorSetKey);
  auto next = set_from(e->value);
  NITRO_ASSERT(next.ok());  // written by the validators module
  std::set<PeerId> told;
  for (const auto& v : set_.members) told.insert(v.id);
  if (committing_qc_) record_epoch_proof(set_.epoch, root);
  const std::uint64_t ended = set_.epoch;
  set_revision_ = e->mod_revision;
  adopt_set(std::move(*next));
  for (const auto& v : set_.members) told.insert(v.id);
  epoch_root_qc_ = QC{root.view, root.hash, {}, {}};
  epoch_root_height_ = root.height;
  high_qc_ = epoch_root_qc_;
  last_tc_.reset();
  votes_.clear();
  vote_seen_.clear();
  timeouts_.clear();
  proposals_seen_.clear();
  pending_.clear();
  pending_count_ = 0;
  agg_keys_.clear();
  verified_qcs_.clear();
  reputation_cache_.clear();
  certified_roots_.clear();  // read proofs carry this epoch's certificates only
  epoch_qc_.reset();
  sync_.reset();
  for (auto it = blocks_.begin(); it != blocks_.end();) it = it->second->height > root.height ? blocks_.erase(it) : std::next(it);
  if (ctx_) {
    Array ids;
    for (const auto& v : set_.members) ids.push_back(Value(Bytes(v.id.bytes().begin(), v.id.bytes().end())));
    ctx_->emit(codec::encode(Value(Map{{Value("type"), Value("epoch")}, {Value("epoch"), Value(set_.epoch)},
                                       {Value("height"), Value(root.height)}, {Value("validators"), Value(std::move(ids))}})));
  }
  if (restoring_) return;
  if (auto p = epoch_proofs_.find(ended); p != epoch_proofs_.end()) {
    told.erase(self_id_);
    for (const PeerId& peer : told) send_peer(peer, p->second);
  }
  open_epoch_ = is_validator();
}

// The QC that committed `root` with the blocks from root up to the one it certifies (the newest
// kFetchCountMax of them; a receiver block-syncs any below).
void Engine::record_epoch_proof(std::uint64_t ended, const Block& root) {
  std::vector<const Block*> chain;
  for (const Block* b = block(committing_qc_->hash); b && b->height >= root.height && chain.size() < kFetchCountMax;
       b = block(b->parent)) {
    chain.push_back(b);
  }
  Array blocks;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) blocks.push_back(block_value(**it));
  Bytes proof = frame({Value(static_cast<int>(FrameType::kEpochProof)), Value(ended), Value(std::move(blocks)),
                       qc_value(*committing_qc_)});
  if (ctx_) ctx_->store_put(epoch_key(ended), proof);
  epoch_proofs_[ended] = std::move(proof);
  while (epoch_proofs_.size() > kEpochProofsKept) epoch_proofs_.erase(epoch_proofs_.begin());
}

// Proposals and timeouts name their epoch: ours goes on; a newer one means we missed a switch,
// so ask the sender for the proof that ended ours (at most every half timeout); an older one
// carries nothing that verifies now, but tells us the sender missed a switch we made, so we send
// it the proof that ended its epoch. Without that push, a replica left in epoch e hears only
// members of e: once the proof sent at the switch is lost, the ones that switched (the old set's
// members among them) never propose in e again, and the replicas left behind, fewer than a
// quorum of e, time out in e for good while no one of e + 1 ever shows them a newer epoch.
bool Engine::epoch_gate(const PeerId& from, FrameType type, const Array& a) {
  const std::size_t at = type == FrameType::kProposal ? 3 : type == FrameType::kTimeout ? 5 : 0;
  if (at == 0 || a.size() <= at) return at == 0 || set_.epoch == 0;
  if (!a[at].is<std::int64_t>() || a[at].as<std::int64_t>() < 0) {
    stats_.bad_frames++;
    return false;
  }
  const auto epoch = static_cast<std::uint64_t>(a[at].as<std::int64_t>());
  if (epoch == set_.epoch) return true;
  if (epoch < set_.epoch) {
    push_epoch_proof(from, epoch);
    return false;
  }
  if (now_ms_ >= epoch_fetch_ms_ && ctx_) {
    epoch_fetch_ms_ = now_ms_ + config_.timeout_ms / 2;
    send_peer(from, frame({Value(static_cast<int>(FrameType::kEpochFetch)), Value(set_.epoch)}));
  }
  return false;
}

// The proof that ended `epoch` to a peer still in it, at most every half timeout per peer (its
// timeouts keep coming while it lags, and a Byzantine peer must not make us flood).
void Engine::push_epoch_proof(const PeerId& to, std::uint64_t epoch) {
  auto proof = epoch_proofs_.find(epoch);
  if (proof == epoch_proofs_.end() || !ctx_) return;
  if (proof_pushed_ms_.size() >= kProofPushPeersMax && !proof_pushed_ms_.count(to)) proof_pushed_ms_.clear();
  std::uint64_t& next = proof_pushed_ms_[to];
  if (now_ms_ < next) return;
  next = now_ms_ + config_.timeout_ms / 2;
  send_peer(to, proof->second);
}

void Engine::handle_epoch_fetch(const PeerId& from, const Array& a) {
  if (a.size() != 2 || !a[1].is<std::int64_t>() || a[1].as<std::int64_t>() < 0) {
    stats_.bad_frames++;
    return;
  }
  auto it = epoch_proofs_.find(static_cast<std::uint64_t>(a[1].as<std::int64_t>()));
  if (it != epoch_proofs_.end() && ctx_) send_peer(from, it->second);
}

// A proof for our epoch: its blocks go in like fetched ones and its QC (checked against our set)
// commits the root, which switches us; a proof that does not link up yet block-syncs from its
// sender, and the QC waits for its block.
void Engine::handle_epoch_proof(const PeerId& from, const Array& a) {
  if (a.size() != 4 || !a[1].is<std::int64_t>() || !a[2].is<Array>() || a[2].as<Array>().size() > kFetchCountMax) {
    stats_.bad_frames++;
    return;
  }
  if (a[1] != Value(set_.epoch)) return;
  std::vector<BlockPtr> chain;
  for (const auto& v : a[2].as<Array>()) {
    auto b = block_from(v, n_);
    if (!b.ok() || (!chain.empty() && (*b)->parent != chain.back()->hash)) { stats_.bad_frames++; return; }
    chain.push_back(std::move(*b));
  }
  auto qc = qc_from(a[3], n_);
  if (chain.empty() || !qc.ok() || qc->hash != chain.back()->hash || qc->view != chain.back()->view || !verify_qc(*qc)) {
    stats_.bad_frames++;
    return;
  }
  const std::uint64_t epoch = set_.epoch;
  epoch_qc_ = *qc;
  bool first = true;
  for (const auto& b : chain) {
    if (set_.epoch != epoch) return;
    if (b->height <= committed_->height) continue;
    const Insert r = insert_block(b);
    if (r == Insert::kMissingParent && first) request_blocks(from, b->parent, fetch_count(b->height));
    if (r == Insert::kInvalid) return;
    first = false;
  }
  if (set_.epoch == epoch) take_epoch_qc(qc->hash);
}

void Engine::take_epoch_qc(const Hash& inserted) {
  if (!epoch_qc_ || epoch_qc_->hash != inserted || !block(inserted)) return;
  const QC qc = *epoch_qc_;
  epoch_qc_.reset();
  process_qc(qc);
}

// After a restored snapshot whose state already holds a later set: adopt it, with its root from
// the block at the set's root height (the epoch proof on disk carries it).
void Engine::restore_epoch_root() {
  if (!set_changed()) return;
  const chain::KvEntry* e = exec_.store().get(kValidatorSetKey);
  auto next = set_from(e->value);
  if (!next.ok()) return;
  const std::uint64_t root_height = next->root_height;
  const std::uint64_t epoch = next->epoch;
  set_revision_ = e->mod_revision;
  adopt_set(std::move(*next));
  epoch_root_height_ = root_height;
  auto proof = epoch_proofs_.find(epoch - 1);
  if (proof == epoch_proofs_.end()) return;
  auto v = codec::decode(proof->second);
  if (!v.ok() || !v->is<Array>() || v->as<Array>().size() != 4 || !v->as<Array>()[2].is<Array>()) return;
  for (const auto& bv : v->as<Array>()[2].as<Array>()) {
    auto b = block_from(bv, kValidatorsMax);
    if (!b.ok() || (*b)->height != root_height) continue;
    epoch_root_qc_ = QC{(*b)->view, (*b)->hash, {}, {}};
    high_qc_ = epoch_root_qc_;
  }
}

}  // namespace nitro::consensus
