// BeaconProtocol: carries the threshold BLS beacon (bls::BeaconEngine, optionally preceded by a
// bls::Dkg that hands its share over to the engine) on a nitro::Node, through the Protocol seam.
//
// Contract:
//   * Members are the group's PeerIds sorted ascending; member index = position + 1. The local node
//     must be a member. A frame is fed to the engines only with the sender's authenticated index:
//     the origin signature of a pub/sub broadcast, or the secure link's peer for a direct message.
//     Frames from non-members are ignored (counted in stats().foreign).
//   * Broadcast frames (partials, DKG commitments/complaints/justifications) are published on the
//     group's topic, `topic_for(members)`: gossip repairs loss (Plumtree GRAFT, lazy IHAVE), so a
//     partial reaches members that are not our neighbors. Addressed frames (catch-up sync, DKG
//     private shares) go over the encrypted link to that member; if it is unreachable the frame
//     is dropped (the engine rotates its catch-up peer; a DKG share left out becomes a complaint
//     whose justification is broadcast).
//   * Timers: the engines' deadlines are this protocol's next_deadline(), folded into the node's.
//   * Events (kProtocol on the channel, msgpack maps, the "type" key first):
//       {"type":"round","round":u64,"signature":bin,"previous_signature":bin,"randomness":bin32}
//       {"type":"rejected","from":"<peer id>","round":u64,"reason":str}
//       {"type":"ready","group_key":bin,"index":u32}          engine running (dealer or after DKG)
//       {"type":"dkg_failed","reason":str}
//   * Deterministic: the DKG's secret polynomial is seeded from the node's injected entropy.
//   * Bounds: frames received before the DKG starts are held up to kEarlyFramesMax; everything
//     else is bounded by the engines (see nitro/bls_beacon.h).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nitro/bls_beacon.h"
#include "nitro/node.h"

namespace nitro::beacon {

inline constexpr std::size_t kEarlyFramesMax = 256;
inline constexpr std::size_t kMembersMax = 256;
inline constexpr const char* kDefaultChannel = "beacon";

struct BeaconNodeConfig {
  std::vector<PeerId> group;  // any order, no duplicates, includes the local node
  std::uint32_t threshold = 0;
  bls::Scheme scheme = bls::Scheme::kPedersenBlsChained;
  std::uint64_t genesis_ms = 0;  // round 1 starts here (node clock)
  std::uint64_t period_ms = 3000;
  Bytes genesis_seed;  // chained schemes; empty: sha256(group public key)
  // Dealer mode: the group's public polynomial and this member's share (index = our index).
  std::optional<bls::threshold::PublicPoly> poly;
  std::optional<bls::threshold::Share> share;
  // DKG mode (when poly/share are absent): every member starts at dkg_start_ms (node clock;
  // 0: when attached) and lasts 3 * bls::dkg_relay_rounds(n, threshold) * dkg_phase_ms, where
  // dkg_phase_ms bounds the delivery time between honest members. The node's identity seed signs this
  // member's deal (required in DKG mode; it must be the key of `self`). dkg_session is signed
  // along: give a group that runs the DKG more than once a fresh value each time (e.g. the
  // agreed start time), so deals of an earlier run cannot be replayed as equivocation.
  std::uint64_t dkg_start_ms = 0;
  std::uint64_t dkg_phase_ms = 2000;
  std::optional<crypto::Seed> identity_seed;
  Bytes dkg_session;
  std::uint32_t history_rounds_max = 1024;
};

struct BeaconNodeStats {
  std::uint64_t frames_in = 0, frames_out = 0, send_failures = 0, foreign = 0, rejected = 0, rounds = 0;
};

// "nitro-beacon/" + hex of the first 8 bytes of sha256 over the sorted members' ids.
std::string topic_for(const std::vector<PeerId>& sorted_members);

class BeaconProtocol final : public Protocol {
 public:
  // kInvalidArgument: self not in the group, duplicate members, bad threshold/period, a dealer
  // share whose index is not ours or that does not match the polynomial, DKG mode without the
  // identity seed of `self`.
  static Result<std::unique_ptr<BeaconProtocol>> create(BeaconNodeConfig config, const PeerId& self);

  void attach(ProtocolContext& ctx) override;
  void on_message(const PeerId& from, std::span<const std::uint8_t> bytes, std::uint64_t now_ms) override;
  void on_broadcast(const std::string& topic, const PeerId& origin, std::uint64_t seq,
                    std::span<const std::uint8_t> payload, std::uint64_t now_ms) override;
  void tick(std::uint64_t now_ms) override;
  std::optional<std::uint64_t> next_deadline() const override;

  const std::vector<PeerId>& members() const { return members_; }
  bls::Index self_index() const { return self_; }
  const std::string& topic() const { return topic_; }
  // What this group's DKG deal signatures are bound to (see BeaconNodeConfig::dkg_session).
  Bytes dkg_session() const;
  // Null until the engine runs (dealer mode: from attach; DKG mode: once it finished).
  const bls::BeaconEngine* engine() const { return engine_ ? &*engine_ : nullptr; }
  std::optional<Bytes> group_key() const;
  bool dkg_failed() const { return dkg_failed_; }
  // DKG mode: the dealers whose polynomials make up the group key (empty before the DKG ends).
  const std::vector<bls::Index>& qualified() const { return qualified_; }
  const BeaconNodeStats& stats() const { return stats_; }
  // Stops for good: leaves the topic, drops the engines; later frames and ticks are ignored (the
  // node keeps the channel attached, since a Node cannot detach a protocol).
  void close();
  bool closed() const { return closed_; }

 private:
  BeaconProtocol(BeaconNodeConfig config, std::vector<PeerId> members, bls::Index self);
  std::optional<bls::Index> index_of(const PeerId& peer) const;
  void on_frame(bls::Index from, std::span<const std::uint8_t> bytes, std::uint64_t now_ms);
  Status start_engine(bls::threshold::PublicPoly poly, bls::threshold::Share share);
  void maybe_start_dkg(std::uint64_t now_ms);
  void transmit(const bls::Outgoing& out);
  void drain();
  void emit_round(const bls::RoundEvent& ev);
  void emit_rejected(const bls::RejectedEvent& ev);

  BeaconNodeConfig config_;
  std::vector<PeerId> members_;  // sorted
  bls::Index self_ = 0;
  std::string topic_;
  ProtocolContext* ctx_ = nullptr;
  std::optional<bls::Dkg> dkg_;
  bool dkg_started_ = false;
  bool dkg_failed_ = false;
  std::vector<bls::Index> qualified_;
  bool closed_ = false;
  std::deque<std::pair<bls::Index, Bytes>> early_;  // frames before the DKG started
  std::optional<bls::BeaconEngine> engine_;
  BeaconNodeStats stats_;
};

}  // namespace nitro::beacon
