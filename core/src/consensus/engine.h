// The consensus state machine behind ConsensusProtocol (see nitro/consensus.h for the contract).
#pragma once

#include <deque>
#include <map>
#include <set>

#include "consensus/state.h"
#include "consensus/validators.h"
#include "consensus/wire.h"
#include "nitro/consensus.h"

namespace nitro::consensus {

inline constexpr std::size_t kPendingMax = 256;        // out-of-order blocks waiting for a parent
inline constexpr std::size_t kBlocksKeptMax = 2048;    // committed blocks kept in memory
inline constexpr std::size_t kQcCacheMax = 4096;
inline constexpr std::size_t kViewsTrackedMax = 64;    // vote/timeout collections
inline constexpr std::size_t kReputationWindow = 16;   // ancestors judged for leader reputation
inline constexpr std::size_t kCommittedIdsMax = 1u << 18;
inline constexpr std::size_t kProposalsPerViewMax = 2;  // proposals looked at per view and sender
// Block sync stashes what it fetched until the chain links up (kPendingMax blocks): a replica
// further behind than this fetches a state snapshot instead.
inline constexpr std::uint64_t kSyncGapMax = kPendingMax - kFetchCountMax;
inline constexpr std::size_t kSnapshotChunkBytes = 256 * 1024;
inline constexpr std::size_t kSnapshotChunkEntries = 1024;
inline constexpr std::uint64_t kSnapshotEntriesMax = 1u << 24;
inline constexpr std::size_t kSnapshotsKept = 2;  // a fetch of the older one still completes
inline constexpr std::uint32_t kSyncRetries = 2;   // a request asked again before the next peer
inline constexpr std::size_t kEpochProofsKept = 1024;  // in memory; every one stays on disk as "e/<epoch>"
inline constexpr std::size_t kProofPushPeersMax = 1024;  // peers with a recent proof push remembered

using Entries = std::vector<std::pair<std::string, chain::KvEntry>>;

// The committed state after `height`, kept to serve state sync once a QC certifies it.
struct Snapshot {
  std::uint64_t height = 0;
  std::uint64_t revision = 0;
  Hash root{};
  Entries entries;                       // key order
  std::vector<std::size_t> chunk_starts;  // index of each chunk's first entry
  Value header;                          // certified header whose exec fields are (height, root)
  QC qc;
};

// A snapshot being fetched from one validator.
struct StateSync {
  std::uint32_t peer = 0;
  std::set<std::uint32_t> tried;
  std::uint64_t height = 0, revision = 0, count = 0, chunks = 0, next = 0;
  BlockPtr header;  // its fields; header_hash is what the QC certifies
  Hash header_hash{};
  QC qc;
  Entries entries;
  bool anchoring = false;  // entries verified, fetching the blocks up to the header
  std::size_t anchor_count = 0;
  std::uint64_t deadline_ms = 0;
  std::uint32_t retries = 0;  // of the current request
};

class Engine {
 public:
  Engine(ConsensusConfig config, const PeerId& self);
  void attach(ProtocolContext& ctx);
  void on_message(const PeerId& from, std::span<const std::uint8_t> bytes, std::uint64_t now_ms);
  void on_peer_up(const PeerId& peer, std::uint64_t now_ms);
  void on_broadcast(const std::string& topic, const PeerId& origin, std::span<const std::uint8_t> payload,
                    std::uint64_t now_ms);
  void tick(std::uint64_t now_ms);
  std::optional<std::uint64_t> next_deadline() const;
  Status register_module(const std::string& prefix, std::shared_ptr<chain::BuiltinModule> m) {
    return exec_.register_module(prefix, std::move(m));
  }
  Result<Bytes> submit(Bytes tx, std::uint64_t now_ms);
  void restore_records(StoredRecords records) { restore(std::move(records)); }
  Result<Bytes> submit(const std::string& op, const Value& args, std::uint64_t now_ms);

  std::uint64_t view() const { return view_; }
  std::uint64_t committed_height() const { return committed_->height; }
  std::optional<CommittedBlock> committed(std::uint64_t height) const;
  const chain::KvEntry* get(const std::string& key) const { return exec_.store().get(key); }
  Bytes state_root() const { auto r = exec_.root(); return Bytes(r.begin(), r.end()); }
  Result<Bytes> read_proof(const std::string& key) const;
  const std::optional<std::string>& halted() const { return halted_; }
  const ConsensusStats& stats() const { return stats_; }
  std::uint64_t epoch() const { return set_.epoch; }
  const std::vector<Validator>& validators() const { return set_.members; }

 private:
  bool is_validator() const { return self_ < n_; }
  std::size_t quorum() const { return n_ - (n_ - 1) / 3; }  // 2f+1 for n = 3f+1
  std::size_t f_plus_1() const { return (n_ - 1) / 3 + 1; }
  std::optional<std::uint32_t> index_of(const PeerId& p) const;
  std::uint32_t leader(std::uint64_t view, const Hash& anchor);
  const Block* block(const Hash& h) const;

  // Frames.
  void handle_proposal(std::uint32_t from, const Array& a, std::uint64_t now_ms);
  void handle_vote(std::uint32_t from, const Array& a);
  void handle_timeout(std::uint32_t from, const Array& a);
  void handle_fetch(const PeerId& from, const Array& a);
  void handle_blocks(const PeerId& from, const Array& a);
  void handle_txs(const Array& a);

  // State sync (snapshot.cpp).
  void take_snapshot();
  void certify_snapshot(const Block& b, const QC& qc);
  void handle_snapshot_fetch(const PeerId& from, const Array& a);
  void handle_snapshot_chunk(std::uint32_t from, const Array& a);
  bool snapshot_meta(const Array& a);
  bool snapshot_entries(const Value& v);
  void finish_snapshot_fetch();
  void start_state_sync();
  void next_sync_peer(bool bad);
  void sync_timeout();
  void request_snapshot_chunk();
  bool anchor_snapshot(const std::vector<BlockPtr>& chain);
  void install_state(std::uint64_t height, std::uint64_t revision, const Hash& root, const Entries& entries,
                     const std::vector<BlockPtr>& chain);
  bool restore_snapshot(const Bytes& bytes);
  void persist_snapshot(const Snapshot& s, const Block& header);
  void write_snap(std::uint64_t height, std::uint64_t revision, const std::vector<const Block*>& chain,
                  const Entries& entries, const QC& qc);
  void serve_restored_snapshot(std::uint64_t height, std::uint64_t revision, const Hash& root, Entries entries,
                               const Block& header, const Value& stored_qc);
  void prune_blocks(std::uint64_t below);

  // Blocks and certificates.
  bool verify_qc(const QC& qc);
  bool verify_tc(const TC& tc);
  Result<bls::PublicKey> aggregate_key(const Bytes& bitmap);
  enum class Insert { kOk, kMissingParent, kInvalid };
  Insert insert_block(const BlockPtr& b);
  void insert_pending_children(const Hash& parent);
  void process_qc(const QC& qc);
  void process_tc(const TC& tc);
  void try_commit(const QC& qc);
  void commit_chain(const Block* b0);
  void execute(const Block& b);
  std::pair<std::uint64_t, Hash> expected_exec(const Block& parent) const;
  std::optional<Hash> executed_root(std::uint64_t height) const;
  void check_certified_root(const Block& b);
  void halt(std::uint64_t height, const std::string& reason);

  // Epochs: validator set changes (validators.cpp makes them, these switch to them).
  void adopt_set(ValidatorSet set);
  bool set_changed() const;
  void begin_epoch(const Block& root);
  void record_epoch_proof(std::uint64_t ended, const Block& root);
  void announce_epoch(const std::set<PeerId>& to);
  bool epoch_gate(const PeerId& from, FrameType type, const Array& a);
  void push_epoch_proof(const PeerId& to, std::uint64_t epoch);
  void handle_epoch_fetch(const PeerId& from, const Array& a);
  void handle_epoch_proof(const PeerId& from, const Array& a);
  void take_epoch_qc(const Hash& inserted);
  void restore_epoch_root();

  // Pacemaker and roles.
  void advance_view(std::uint64_t v, bool progress);
  std::uint64_t timeout_ms() const;
  void on_view_timeout();
  void send_timeout();
  void maybe_vote(const Block& b, const std::optional<TC>& tc);
  void try_form_qc(std::uint64_t view, const Hash& hash);
  void try_propose();
  std::vector<Bytes> pick_txs(const Block& parent);
  bool has_work(const Block& parent) const;
  Result<Bytes> admit(Bytes tx, std::uint64_t now_ms, bool signed_here);
  static Status authorize_tx(ProtocolContext& ctx, const Tx& tx);
  void hand_over_revocations(const std::vector<TxOutcome>& outs);
  void persist_safety();
  void restore(StoredRecords records);

  // Output.
  void send_to(std::uint32_t to, const Bytes& frame);
  void send_peer(const PeerId& to, const Bytes& frame);
  void send_all(const Bytes& frame);
  void request_blocks(std::uint32_t from, const Hash& hash, std::size_t count);
  void request_blocks(const PeerId& from, const Hash& hash, std::size_t count);
  std::size_t fetch_count(std::uint64_t height) const;
  void emit_commit(const Block& b, const std::vector<TxOutcome>& outs);
  void emit_outcomes(std::uint64_t height, const std::vector<const TxOutcome*>& outs);
  void byzantine_tick();
  void flush_txs();
  void flush_ops();

  ConsensusConfig config_;
  PeerId self_id_;
  ValidatorSet genesis_set_;
  ValidatorSet set_;               // the current epoch's; n_, pks_ and self_ follow it
  std::uint64_t set_revision_ = 0;  // mod_revision of the state's set record when adopted
  std::string domain_;             // votes and timeouts sign over it: chain id, epoch, set hash
  QC epoch_root_qc_;               // the genesis QC generalised: (view, hash) of the epoch's root
  std::uint64_t epoch_root_height_ = 0;
  std::map<std::uint64_t, Bytes> epoch_proofs_;  // ended epoch -> its proof frame
  std::optional<QC> epoch_qc_;     // from a proof, processed once its block is in
  const QC* committing_qc_ = nullptr;
  bool open_epoch_ = false;        // time out at once: the new set's first leader proposes via a TC
  bool restoring_ = false;
  std::uint64_t epoch_fetch_ms_ = 0;
  std::map<PeerId, std::uint64_t> proof_pushed_ms_;  // peer in an older epoch -> next push allowed
  std::uint32_t self_ = 0;
  std::size_t n_ = 0;
  std::vector<bls::PublicKey> pks_;
  ProtocolContext* ctx_ = nullptr;
  std::string relay_topic_;  // frames for validators we have no link to (send_peer)
  std::uint64_t now_ms_ = 0;
  bool started_ = false;

  std::map<Hash, BlockPtr> blocks_;
  std::map<std::uint64_t, Hash> committed_by_height_;
  std::map<std::uint64_t, Hash> roots_by_height_;  // state root after each committed height (recent)
  std::map<std::uint64_t, std::size_t> ops_by_height_;  // ops executed at each committed height (recent)
  std::map<Hash, std::vector<BlockPtr>> pending_;  // by missing parent
  std::size_t pending_count_ = 0;
  BlockPtr genesis_;
  const Block* committed_ = nullptr;

  std::uint64_t view_ = 0;
  std::uint64_t last_voted_view_ = 0;
  std::uint64_t proposed_view_ = 0;
  std::uint64_t timed_out_view_ = 0;
  QC high_qc_;
  std::optional<TC> last_tc_;
  std::uint64_t view_deadline_ms_ = UINT64_MAX;
  std::uint32_t failed_views_ = 0;
  std::uint64_t last_proposal_ms_ = 0;
  std::uint64_t propose_retry_ms_ = UINT64_MAX;

  std::map<std::pair<std::uint64_t, Hash>, std::map<std::uint32_t, Bytes>> votes_;
  struct TimeoutVote { std::uint64_t hqc_view; Bytes sig; };
  std::map<std::uint64_t, std::map<std::uint32_t, TimeoutVote>> timeouts_;
  std::set<Hash> verified_qcs_;
  std::set<std::pair<std::uint64_t, std::uint32_t>> vote_seen_;  // (view, signer)
  std::map<std::pair<std::uint64_t, std::uint32_t>, std::size_t> proposals_seen_;  // (view, sender) -> count
  std::set<Hash> requested_;                                       // blocks we fetched and await
  std::map<Bytes, bls::PublicKey> agg_keys_;
  std::map<Hash, std::pair<BlockPtr, QC>> certified_roots_;  // exec_root -> a certified header (recent)
  std::map<Hash, std::vector<std::uint32_t>> reputation_cache_;

  // Mempool: FIFO per sender, senders served round robin.
  struct Pooled {
    Bytes tx;
    PeerId sender;
    std::shared_ptr<const Tx> decoded;  // at admission, so executing it does not decode it again
  };
  struct Mempool {
    std::map<Hash, Pooled> by_id;
    std::map<PeerId, std::deque<Hash>> by_sender;
    std::size_t bytes = 0;
  } mempool_;
  std::set<Hash> committed_ids_;
  std::deque<Hash> committed_ids_order_;
  std::uint64_t nonce_ = 0;
  std::optional<crypto::Identity> identity_;  // signs txs submitted here (from config.identity_seed)
  Array outbox_;  // txs submitted here, not yet sent to the validators
  std::size_t outbox_bytes_ = 0;
  // Ops submitted here since the last tick, signed as one bundle (state.h) at the next tick.
  std::vector<TxOp> queued_ops_;
  std::uint64_t queued_nonce_ = 0;  // the first queued op's nonce
  std::size_t queued_bytes_ = 0;

  std::deque<std::shared_ptr<const Snapshot>> snapshots_;  // certified, newest last
  std::shared_ptr<Snapshot> uncertified_;                   // taken, waiting for a QC on its root
  std::uint64_t snapshot_height_ = 0;                      // of the last one taken or installed
  std::optional<StateSync> sync_;
  std::set<std::uint64_t> stored_blocks_;  // heights of the "b/" records on disk (pruned below snapshots)

  Executor exec_;
  std::optional<std::string> halted_;
  ConsensusStats stats_;
};

}  // namespace nitro::consensus
