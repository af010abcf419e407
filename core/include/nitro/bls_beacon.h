// The threshold beacon's protocol engines, both sans-IO state machines (quinn-proto style):
//   - Dkg: distributed key generation without a trusted dealer (joint-Feldman VSS with signed,
//     relayed deals, complaints, justifications and disqualification);
//   - BeaconEngine: one member of a threshold group producing drand-compatible rounds.
//
// Contract: deterministic, no clock (time is `now_ms`), no randomness (seeds are injected), no
// I/O. Push input with handle(from, bytes, now_ms) and tick(now_ms) (extra ticks are harmless);
// after every call drain poll_transmit() and poll_event() until empty; call tick again at
// next_deadline(). Peers are member indices 1..n; the host maps them to network peers and must
// deliver `from` authenticated (the node layer's signed gossip / encrypted links do). Messages
// marked to_all go to every other member; private DKG shares go to one peer and must travel on
// an encrypted link. Each handle/tick call appends a bounded number of items to the queues (at
// most n + sync_batch_max + 3 * pending_rounds_max + 4).
// A malformed or invalid message is rejected with a Status (and, for beacon partials, a
// Rejected event naming the sender) and leaves the state unchanged.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <variant>
#include <vector>

#include "nitro/bls.h"
#include "nitro/bls_threshold.h"
#include "nitro/status.h"

namespace nitro::bls {

using threshold::Index;

namespace wire {  // the DKG's frames (core/src/bls/wire.h)
struct RelaySig;
struct DkgForward;
struct DkgComplaint;
struct DkgJustification;
}  // namespace wire

struct Outgoing {
  std::optional<Index> to;  // nullopt: to every other member
  Bytes bytes;
};

// ---- DKG ----------------------------------------------------------------------------------------

struct DkgConfig {
  Group pk_group = Group::kG1;
  std::uint32_t n = 0;
  std::uint32_t threshold = 0;
  Index self = 0;
  // The delivery bound: what an honest member sends reaches every honest member within this.
  // The DKG lasts 3 * dkg_relay_rounds(n, threshold) of it.
  std::uint64_t phase_ms = 1000;
  // Deals, complaints and relays are signed so that a member can relay them and prove a dealer's
  // equivocation, and nobody can forge one. `session` is signed along (one DKG's signatures are
  // no use in another); `sign` signs with this member's key, `verify` checks a signature by
  // member `index`.
  Bytes session;
  std::function<Bytes(ByteSpan message)> sign;
  std::function<bool(Index index, ByteSpan message, ByteSpan signature)> verify;
};

// The bytes a dealer signs for its deal: a domain tag, the session, the dealer's index and the
// sha256 of its commitments.
Bytes dkg_deal_message(ByteSpan session, Index dealer, ByteSpan commitments_digest);
// The bytes a member signs to complain about a dealer, and to relay an item (sha256 of the
// item's frame without its relay chain).
Bytes dkg_complaint_message(ByteSpan session, Index complainer, Index dealer);
Bytes dkg_relay_message(ByteSpan session, ByteSpan item_digest);

// Rounds of each of the DKG's three agreements: f + 1 for the f = min(t - 1, n - t) faulty
// members it tolerates (more than n - t would leave fewer than t honest dealers).
std::uint32_t dkg_relay_rounds(std::uint32_t n, std::uint32_t threshold);

struct DkgFinished {
  threshold::Share share;
  threshold::PublicPoly poly;  // the group's public polynomial; poly.group_key() is the group key
  std::vector<Index> qualified;
};
struct DkgFailed {
  Status reason;
};
using DkgEvent = std::variant<DkgFinished, DkgFailed>;

// Joint-Feldman DKG in the synchronous model: what an honest member sends reaches every honest
// member within phase_ms (Δ), clocks agree, and up to f = min(t - 1, n - t) members are faulty in
// any way. Each member decides alone, on deadlines, from the evidence it holds; the evidence
// (signed deals, signed complaints, justifications checked against the deals) is agreed with
// Dolev-Strong's rule, so every honest member holds the same evidence at each decision and
// decides the same. An item of a stage starting at T is accepted when it arrives before
// T + k * Δ carrying k distinct valid signatures (its author's and relayers'); an accepting member
// relays it at once with its own signature added. A faulty author timing an item to land just
// before a deadline at some honest members thus reaches them all: whoever accepted it before
// T + k * Δ relays it with k + 1 signatures, in time for T + (k + 1) * Δ, and an item with f + 1
// signatures was already relayed by an honest member. With R = f + 1 rounds per stage:
//   deals      [T0, T1 = T0 + R Δ): every dealer broadcasts its signed commitments (DkgDeal) and
//              sends each member its share privately. A dealer with other than exactly one
//              accepted deal (none, or two signed deals: equivocation) is out.
//   complaints [T1, T2 = T1 + R Δ): a member complains, signed, about each dealer in whose one
//              deal its share is missing or wrong. A dealer answers every complaint about it it
//              accepts, at once, by revealing that share (DkgJustification).
//   justify    [T1, T3 = T2 + R Δ): justifications are accepted with the rule above from T2 on
//              (a dealer's own answer carries its signature: it arrives before T2 + Δ).
// At T3 the qualified dealers are those with one deal and a valid justification for every
// accepted complaint; the group key is the sum of their constant terms. Every honest dealer is
// qualified everywhere, so with n >= 2t - 1 the DKG cannot fail, and an honest member lacking a
// qualified dealer's share complained, so it holds the justification.
class Dkg {
 public:
  static Result<Dkg> create(const DkgConfig& config, ByteSpan seed);
  void start(std::uint64_t now_ms);
  Status handle(Index from, ByteSpan bytes, std::uint64_t now_ms);
  void tick(std::uint64_t now_ms);
  std::optional<Outgoing> poll_transmit();
  std::optional<DkgEvent> poll_event();
  std::optional<std::uint64_t> next_deadline() const;

  enum class Phase { kIdle, kDeal, kComplaint, kJustify, kDone };
  Phase phase() const { return phase_; }

 private:
  struct Deal {
    threshold::PublicPoly poly;
    Bytes digest;  // sha256 of the commitments
    Bytes sig;
  };
  struct Dealer {
    std::vector<Deal> deals;                     // accepted signed deals; two convict the dealer
    std::optional<SecretKey> share;              // the share this dealer gave us
    std::set<Index> complaints;                  // accepted complaints about this dealer
    std::map<Index, SecretKey> justified;        // accepted valid justifications, by complainer
  };
  Status on_deal(const wire::DkgForward& f, std::uint64_t now_ms);
  Status on_share(Index from, ByteSpan share);
  Status on_complaint(const wire::DkgComplaint& c, std::uint64_t now_ms);
  Status on_justification(const wire::DkgJustification& j, std::uint64_t now_ms);
  Result<std::vector<wire::RelaySig>> accept_chain(ByteSpan digest, std::optional<Index> author,
                                                   const std::function<bool()>& item_valid,
                                                   const std::vector<wire::RelaySig>& chain, std::uint64_t stage_ms,
                                                   std::uint64_t now_ms);
  bool share_valid(Index dealer, Index member, const SecretKey& share) const;
  const Deal* sole_deal(Index dealer) const;
  std::uint64_t stage_ms() const;
  void send_complaints();
  void justify(Index complainer);
  void finish();

  DkgConfig config_;
  std::optional<threshold::SecretPoly> poly_;
  Phase phase_ = Phase::kIdle;
  std::uint64_t start_ms_ = 0;
  std::uint64_t deadline_ms_ = 0;
  std::map<Index, Dealer> dealers_;
  std::deque<Outgoing> out_;
  std::deque<DkgEvent> events_;
};

// ---- beacon engine ----------------------------------------------------------------------------

struct BeaconConfig {
  Scheme scheme = Scheme::kPedersenBlsUnchained;  // chaining and signature group of the rounds
  threshold::PublicPoly poly;                     // group public polynomial (from DKG or dealer)
  threshold::Share share;                         // this member's share; share.index is its id
  std::uint32_t n = 0;
  std::uint64_t genesis_ms = 0;                   // round 1 starts here
  std::uint64_t period_ms = 3000;
  Bytes genesis_seed;                             // chained: the "previous signature" of round 1
  std::uint32_t history_rounds_max = 1024;        // past rounds kept to serve catch-up
  std::uint32_t pending_rounds_max = 8;           // rounds back for which partials are accepted;
                                                  // chained: also the catch-up window above the
                                                  // head and the rounds signed per call
  std::uint32_t sync_batch_max = 32;              // rounds per catch-up response
};

struct RoundEvent {
  std::uint64_t round = 0;
  Bytes signature;
  Bytes previous_signature;  // chained schemes
  std::array<std::uint8_t, kDigestBytes> randomness{};
};
struct RejectedEvent {
  Index from = 0;
  std::uint64_t round = 0;
  Status reason;
};
using BeaconEvent = std::variant<RoundEvent, RejectedEvent>;

// Rounds: each member signs a round when it starts and recovers it from any t verified partials.
// Unchained rounds are independent: a round that fewer than t members signed in time stays open
// for pending_rounds_max rounds (signed late and re-sent once a period, like drand's catch-up). Chained rounds need their predecessor, so a chained member always signs the round after
// its head (the latest recovered round) up to the current one: after a stall (fewer than t
// alive) the group re-signs the missing rounds in order as soon as t members are back, like
// drand's catch-up, and re-sends its partial of a stalled round once a period. Members behind
// the others pull recovered rounds from a peer (rotating, rate limited) instead.
class BeaconEngine {
 public:
  static Result<BeaconEngine> create(BeaconConfig config);
  void tick(std::uint64_t now_ms);
  Status handle(Index from, ByteSpan bytes, std::uint64_t now_ms);
  std::optional<Outgoing> poll_transmit();
  std::optional<BeaconEvent> poll_event();
  std::optional<std::uint64_t> next_deadline() const;

  // 0 before genesis.
  std::uint64_t round_at(std::uint64_t now_ms) const;
  std::uint64_t latest_round() const { return rounds_.empty() ? 0 : rounds_.rbegin()->first; }
  std::optional<Bytes> signature(std::uint64_t round) const;
  const BeaconConfig& config() const { return config_; }

 private:
  struct Pending {
    std::map<Index, Bytes> partials;  // verified
    std::map<Index, Bytes> unverified;  // chained: waiting for the previous round
  };
  Status on_partial(Index from, std::uint64_t round, ByteSpan sig, std::uint64_t now_ms);
  Status on_sync_request(Index from, std::uint64_t first, std::uint64_t last);
  struct Synced {
    std::uint64_t round;
    Bytes sig, prev;
  };
  Status on_sync_response(Index from, std::vector<Synced> rounds, std::uint64_t now_ms);
  std::optional<Bytes> previous_of(std::uint64_t round) const;  // chained: the prev signature
  std::optional<Bytes> message_for(std::uint64_t round) const;
  void maybe_sign(std::uint64_t now_ms);
  void catch_up_unchained(std::uint64_t cur);
  bool sign_round(std::uint64_t round, std::uint64_t cur);
  bool in_window(std::uint64_t round, std::uint64_t cur) const;
  void try_recover(std::uint64_t round);
  void accept_round(std::uint64_t round, Bytes sig, Bytes prev);
  void maybe_sync(std::uint64_t now_ms);
  void prune(std::uint64_t now_ms);
  void reject(Index from, std::uint64_t round, const Status& why);

  BeaconConfig config_;
  Suite suite_{};
  PublicKey group_key_;
  std::vector<PublicKey> member_keys_;  // index i at [i - 1]
  std::uint64_t signed_round_ = 0;  // unchained: the latest round signed
  std::uint64_t resent_round_ = 0;  // the round (clock) of the latest catch-up re-send
  bool catchup_due_ = false;        // chained: the per-call catch-up budget ran out; continue at once
  std::uint64_t now_ms_ = 0;  // latest time seen by tick/handle
  std::uint64_t sync_next_ms_ = 0;
  Index sync_peer_ = 0;
  std::uint64_t sync_first_ = 0;   // first round of the latest catch-up request
  std::uint32_t sync_misses_ = 0;  // responses in a row lacking sync_first_
  std::uint64_t sync_floor_ = 0;   // rounds below are not asked for again
  std::uint64_t forgotten_ = 0;    // rounds up to here fell out of the history: never re-emitted
  std::map<std::uint64_t, Bytes> rounds_;  // recovered signatures, bounded by history_rounds_max
  std::map<std::uint64_t, Pending> pending_;
  std::deque<Outgoing> out_;
  std::deque<BeaconEvent> events_;
};

}  // namespace nitro::bls
