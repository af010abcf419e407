// Consensus wire types and their msgpack encodings. Every decoder is total and bounded.
//   QC       [view, hash bin32, bitmap bin, sig bin48]        (view 0: the genesis QC, no sig)
//   TC       [view, [[signer, hqc_view]...], sig bin48]
//   Block    [view, height, parent bin32, QC, time_ms, proposer, exec_height, exec_root bin32, [tx bin...]]
//   Header   the same with the tx list replaced by sha256(msgpack(tx list)); hash = sha256(Header)
//   Frames   [1, Block, TC|nil, epoch]        proposal (epoch absent: 0)
//            [2, view, hash, sig]             vote (signer = the link's peer)
//            [3, view, QC, sig, TC|nil, epoch] timeout (signed over view and the QC's view), with the
//                                             sender's latest TC so a replica left behind catches up
//            [4, hash, count]                 fetch a block and up to count-1 ancestors
//            [5, [Block...]]                  blocks, oldest first
//            [6, [tx bin...]]                 txs for the mempool
//            [7, height, index]               fetch chunk index of the snapshot at height (0: the latest)
//            [8, height, revision, count, chunks, index, Header, QC, [[key, value, create_rev, mod_rev, version]...]]
//                                             a snapshot chunk: the state after `height` (count entries
//                                             in key order, executor revision), certified by the header
//                                             (exec_height = height) and its QC
//            [9, epoch]                       fetch the proof that ended `epoch`
//            [10, epoch, [Block...], QC]      that proof: blocks oldest first up to the block the QC
//                                             (by epoch's set) certifies; the QC commits the block
//                                             whose execution changed the set
//   Votes and timeouts are signed over a domain: the chain id in epoch 0, then
//   "<chain id>/<epoch>/<set hash hex>", so no signature counts in another epoch.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "consensus/state.h"
#include "nitro/value.h"

namespace nitro::consensus {

inline constexpr std::size_t kFetchCountMax = 64;
inline constexpr std::size_t kTxsPerFrameMax = 8192;

struct QC {
  std::uint64_t view = 0;
  Hash hash{};
  Bytes bitmap;
  Bytes sig;
};

struct TC {
  std::uint64_t view = 0;
  std::vector<std::pair<std::uint32_t, std::uint64_t>> entries;  // signer index, its QC's view
  Bytes sig;
  std::uint64_t max_hqc_view() const {
    std::uint64_t m = 0;
    for (const auto& e : entries) m = std::max(m, e.second);
    return m;
  }
};

struct Block {
  std::uint64_t view = 0;
  std::uint64_t height = 0;
  Hash parent{};
  QC justify;
  std::uint64_t time_ms = 0;
  std::uint32_t proposer = 0;
  std::uint64_t exec_height = 0;
  Hash exec_root{};
  std::vector<Bytes> txs;
  // Derived.
  Hash hash{};
  Bytes encoded;
};
using BlockPtr = std::shared_ptr<const Block>;

enum class FrameType : std::uint8_t {
  kProposal = 1, kVote = 2, kTimeout = 3, kFetch = 4, kBlocks = 5, kTxs = 6, kSnapshotFetch = 7, kSnapshotChunk = 8,
  kEpochFetch = 9, kEpochProof = 10
};

Value qc_value(const QC& qc);
Value tc_value(const TC& tc);
Value block_value(const Block& b);
// The block with its txs replaced by sha256(msgpack(txs)); the block hash is sha256 of this, so a
// light client checks a header and its QC without the txs.
Value header_value(const Block& b);
Result<QC> qc_from(const Value& v, std::size_t validators);
Result<TC> tc_from(const Value& v, std::size_t validators);
Result<BlockPtr> block_from(const Value& v, std::size_t validators);
// A header's fields (its tx list left empty) and its hash, the block hash it stands for.
Result<std::pair<BlockPtr, Hash>> header_from(const Value& v, std::size_t validators);
// Fills hash and encoded.
BlockPtr seal(Block b);

// What votes and timeouts sign over besides their fields: the chain id in epoch 0 (as before
// sets could change), then "<chain id>/<epoch>/<set hash hex>".
std::string signing_domain(const std::string& chain_id, std::uint64_t epoch, const Hash& set_hash);
Bytes vote_message(const std::string& domain, std::uint64_t view, const Hash& hash);
Bytes timeout_message(const std::string& domain, std::uint64_t view, std::uint64_t hqc_view);

bool bit(const Bytes& bitmap, std::size_t i);
void set_bit(Bytes& bitmap, std::size_t i);
std::size_t popcount(const Bytes& bitmap);

}  // namespace nitro::consensus
