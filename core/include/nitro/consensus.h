// ConsensusProtocol: a BFT chain (chained HotStuff-2 class, two-phase) on a nitro::Node.
//
// Contract:
//   * n = 3f+1 validators named by PeerId, each with a BLS key (min-sig, proof of possession
//     checked at creation). A frame is attributed to the secure link's authenticated peer only.
//   * Views: the leader of view v proposes a block extending its highest QC. Replicas vote (one
//     BLS signature over (chain, view, block hash)) to the leader of v+1, which aggregates 2f+1
//     votes into a QC (signer bitmap + one aggregate signature) and proposes in v+1. A replica
//     votes for a block in view v only if v > its last voted view and either the block's QC is for
//     view v-1, or the block carries a timeout certificate (TC) for v-1 and its QC is at least as
//     high as every QC the TC's signers reported (Jolteon's two-chain rule).
//   * Commit: a QC for block B1 whose parent B0 has view B1.view-1 commits B0 and its ancestors.
//   * Pacemaker: a view without progress times out after timeout_ms (doubled per consecutive
//     failed view, capped, and reset on progress); the replica stops voting in that view and sends
//     a signed timeout with its highest QC (and its latest TC, so replicas left in an older view
//     catch up) to every validator, repeated each timeout while stuck.
//     2f+1 timeouts form a TC that moves everyone to the next view; f+1 for a higher view make a
//     replica join it.
//   * Leader rotation with reputation: round robin over the validators that proposed at least one
//     of the recent ancestors of the block the proposal extends (so every replica judging a
//     proposal computes the same leader); every eighth rotation is plain round robin so a
//     recovered validator gets back in.
//   * Execution: committed blocks run through the executor (nitro/consensus_exec.h). Each block
//     carries the state root after the highest block its own ancestry commits; a replica votes
//     only if it matches its own. A QC-certified root that differs from ours means we diverged:
//     the chain halts with an error naming the height (event "halted").
//   * Durability (write-ahead through ProtocolContext::store_put): "safety" (last voted view,
//     highest QC, latest TC) before any vote or timeout leaves; "b/<height 16 hex>" committed blocks at commit;
//     "snap" the latest certified snapshot with its certifying QC (ours or one a state sync
//     installed; restored first, then the blocks above it, and served again at once); "b/"
//     records more than 192 heights under it are deleted.
//   * State sync: every snapshot_interval heights a validator keeps a copy of the committed state,
//     served once a QC certifies a header carrying its root. A replica further behind than block
//     sync bridges (kSyncGapMax heights) fetches one in chunks from one validator, checks the
//     entries against the certified root, installs it with the blocks between it and the header,
//     then block-syncs the rest. A snapshot that does not match, or a peer that does not answer,
//     makes it ask the next validator.
//   * Events (kProtocol on the channel, msgpack maps, "type" first):
//       {"type":"commit","height":u64,"view":u64,"hash":bin32,"txs":u64,"state_root":bin32,"time_ms":u64}
//       {"type":"txs","height":u64,"ids":bin(32 per op),"ok":[bool...],"results":[any | [code,message]...]}
//         the outcomes of this node's own ops in a committed block (height 0: refused before it
//         reached the mempool), one event per block
//       {"type":"halted","height":u64,"reason":str}
//       {"type":"epoch","epoch":u64,"height":u64,"validators":[bin32...]}  a committed change took
//         effect: blocks above `height` are certified by the new set
//   * Validator set changes: the built-in ops validators.add {id, blsPublicKey, blsPop} and
//     validators.remove {id} (nitro id text or 32 bytes), submitted by members of the current set;
//     the 2f+1-th distinct member submitting the same change applies it when its block executes
//     (4 <= n <= kValidatorsMax; the new key's proof of possession is checked). The block R whose
//     execution changed the set ends the epoch: epoch e+1 starts right above R, its votes and
//     timeouts are signed over (chain id, epoch, set hash), and a replica that missed the switch
//     fetches the QC that committed R (records "e/<epoch>") and block-syncs to it.
//   * Bounds: blocks carry at most txs_per_block_max txs and block_bytes_max bytes; pending
//     out-of-order proposals, vote and timeout collections and the block tree are bounded.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "nitro/bls.h"
#include "nitro/chain_exec.h"
#include "nitro/node.h"

namespace nitro::consensus {

inline constexpr const char* kDefaultChannel = "chain";
inline constexpr std::size_t kValidatorsMax = 256;

struct Validator {
  PeerId id;
  Bytes bls_pk;   // G2, 96 bytes (min-sig: signatures on G1)
  Bytes bls_pop;  // proof of possession of bls_pk
};

// Simulation-only fault behaviours (FoundationDB BUGGIFY style): a validator configured with one
// of these misbehaves on purpose so the simulator can check the honest ones stay safe.
enum class Byzantine : std::uint8_t {
  kNone = 0,
  kEquivocate,     // as leader, proposes a different block to each replica
  kConflictVotes,  // votes for every proposal it sees plus a random hash, in every view
  kInvalidQc,      // as leader, proposes with a QC whose signature or bitmap is forged
  kGarbage,        // sends random bytes to every validator on every tick
  kWithhold,       // never proposes, votes or times out
  kBadSnapshot,    // otherwise honest, serves state snapshots with a changed value
};

struct ConsensusConfig {
  std::string chain_id = "nitro";
  std::vector<Validator> validators;
  std::optional<bls::SecretKey> bls_sk;       // present on validators
  std::optional<crypto::Seed> identity_seed;  // signs txs submitted through this node
  std::uint64_t start_ms = 0;                 // view 1 starts here (node clock)
  std::uint64_t timeout_ms = 1000;            // base view timeout
  std::uint64_t timeout_ms_max = 16000;
  std::uint64_t block_interval_ms = 0;        // min gap between a leader's proposals (0: responsive)
  std::uint64_t empty_block_ms = 200;         // with nothing to commit, a leader waits this long
  std::size_t txs_per_block_max = 4096;
  std::size_t block_bytes_max = 4u << 20;
  std::size_t mempool_txs_max = 50000;
  std::size_t mempool_bytes_max = 64u << 20;
  std::size_t mempool_per_sender_max = 10000;
  std::uint64_t snapshot_interval = 128;      // heights between state snapshots kept for state sync
  Byzantine byzantine = Byzantine::kNone;
};

struct ConsensusStats {
  std::uint64_t frames_in = 0, frames_out = 0, bad_frames = 0, foreign = 0;
  std::uint64_t proposals = 0, votes_sent = 0, qcs_formed = 0, tcs_formed = 0, timeouts = 0;
  std::uint64_t commits = 0, txs_committed = 0, rejected_proposals = 0, invalid_sigs = 0;
  std::uint64_t snapshots_served = 0, snapshots_installed = 0, snapshots_rejected = 0;
  std::uint64_t relayed = 0;  // frames to a validator without a link, sent through the overlay
};

struct CommittedBlock {
  std::uint64_t height = 0;
  std::uint64_t view = 0;
  Bytes hash;
  Bytes state_root;  // after executing this block
  std::size_t txs = 0;  // ops executed (a bundled tx carries many)
};

struct StateRead {
  bool found = false;
  Value value;
  std::uint64_t mod_revision = 0;
  std::uint64_t create_revision = 0;  // covered by the state root, like the value
  std::uint64_t version = 0;
};

struct VerifiedRead {
  std::uint64_t height = 0;  // the committed height the certified header's state root is for
  std::string key;           // the key the proof is about (compare with the one you asked for)
  StateRead read;
};

// Light client: checks a read proof (ConsensusProtocol::read_proof) against the validator set
// alone: the header's QC (2f+1 BLS signers, one aggregate), then the key's Merkle path to the
// header's state root. kDecodeError for malformed bytes, kUnauthenticated for a proof that does
// not verify, kInvalidArgument for a bad validator set. After set changes, pass the set of the
// epoch the proof's header was certified in, with that epoch (ConsensusProtocol::epoch()).
Result<VerifiedRead> verify_read(const std::string& chain_id, std::vector<Validator> validators,
                                 std::span<const std::uint8_t> proof, std::uint64_t epoch = 0);

// Signs a tx for `op(args)` from `identity` (nonce makes equal txs distinct). Encoded tx bytes.
Bytes make_tx(const crypto::Identity& identity, std::uint64_t nonce, const std::string& op, const Value& args);
// A BLS key's proof of possession for the chain's suite.
Bytes bls_pop(const bls::SecretKey& sk);

class Engine;  // the state machine (core/src/consensus)

class ConsensusProtocol final : public Protocol, public chain::ModuleRegistry {
 public:
  // kInvalidArgument: fewer than 4 or more than kValidatorsMax validators, duplicates, a bad
  // BLS key or proof of possession, a secret key that is not the local validator's.
  static Result<std::unique_ptr<ConsensusProtocol>> create(ConsensusConfig config, const PeerId& self);
  ~ConsensusProtocol() override;

  void attach(ProtocolContext& ctx) override;
  void on_message(const PeerId& from, std::span<const std::uint8_t> bytes, std::uint64_t now_ms) override;
  void on_peer_up(const PeerId& peer, std::uint64_t now_ms) override;
  void on_broadcast(const std::string& topic, const PeerId& origin, std::uint64_t seq,
                    std::span<const std::uint8_t> payload, std::uint64_t now_ms) override;
  void tick(std::uint64_t now_ms) override;
  std::optional<std::uint64_t> next_deadline() const override;
  Status register_module(const std::string& prefix, std::shared_ptr<chain::BuiltinModule> module) override;
  // Hands over records stored under the channel (relative keys) when the host restored the node
  // without them (the simulator); call before the first tick. Node::restore hosts need not.
  void restore(StoredRecords records);

  // Submits a signed tx (make_tx) to the mempool and to the validators. Returns its id (sha256).
  // kResourceExhausted when the mempool is full, kInvalidArgument for a bad tx.
  Result<Bytes> submit(Bytes tx, std::uint64_t now_ms);
  // Queues op(args) from this node; the next tick signs all ops queued since the last one as one
  // bundle (one Ed25519 signature for many ops) with config.identity_seed and submits it. Returns
  // the op's id (its "txs" event carries it). kResourceExhausted when the mempool is full now; if it
  // fills before the tick, a "txs" event at height 0 reports it.
  Result<Bytes> submit(const std::string& op, const Value& args, std::uint64_t now_ms);

  std::uint64_t view() const;
  std::uint64_t committed_height() const;
  std::optional<CommittedBlock> committed(std::uint64_t height) const;  // recent history only
  const chain::KvEntry* get(const std::string& key) const;              // committed state
  Bytes state_root() const;
  // A proof of `key` (present or absent) at the committed state, with the QC-certified header that
  // carries its root. kUnavailable until a header certifying the current root exists (it comes
  // with the next blocks); retry after the next commit.
  Result<Bytes> read_proof(const std::string& key) const;
  std::optional<std::string> halted() const;
  const ConsensusStats& stats() const;
  // The current epoch (0 until the first change) and its validator set, by id.
  std::uint64_t epoch() const;
  std::vector<Validator> validators() const;

 private:
  ConsensusProtocol() = default;
  std::unique_ptr<Engine> engine_;
};

}  // namespace nitro::consensus
