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
  std::uint64_t phase_ms = 1000;  // each of deal, forward, complaint, justification lasts this long
  // Deals are signed so that a member can relay them and prove a dealer's equivocation, and
  // nobody can forge one. `session` is signed along (one DKG's signatures are no use in another);
  // `sign` signs with this member's key, `verify` checks a signature by member `index`.
  Bytes session;
  std::function<Bytes(ByteSpan message)> sign;
  std::function<bool(Index index, ByteSpan message, ByteSpan signature)> verify;
};

// The bytes a dealer signs for its deal: a domain tag, the session, the dealer's index and the
// sha256 of its commitments.
Bytes dkg_deal_message(ByteSpan session, Index dealer, ByteSpan commitments_digest);

struct DkgFinished {
  threshold::Share share;
  threshold::PublicPoly poly;  // the group's public polynomial; poly.group_key() is the group key
  std::vector<Index> qualified;
};
struct DkgFailed {
  Status reason;
};
using DkgEvent = std::variant<DkgFinished, DkgFailed>;

// Phases run on fixed deadlines from start(): deal -> forward -> complaint -> justification ->
// done. The protocol assumes the synchronous model of Pedersen's DKG: what an honest member sends
// at the start of a phase reaches every honest member within phase_ms (the gossip layer's job),
// and honest members send only at phase starts, or at once in answer to what they receive.
//   deal:      every dealer broadcasts its commitments signed (DkgDeal) and sends each member its
//              share privately.
//   forward:   every member relays every signed deal it holds, its own included (DkgForward), and relays at once a
//              deal it first learns in this phase, so a deal that reached some honest members
//              reaches all. A member adopts a dealer's first validly signed deal until the end
//              of this phase. A second, different deal signed by the same dealer is a proof of
//              equivocation: the holder relays it (until the end), and every member that sees it
//              drops the dealer. A lie is no proof: without the dealer's signature a forwarded
//              deal is rejected, so nobody can frame an honest dealer.
//   complaint: a member complains publicly about each adopted dealer whose share to it is
//              missing or does not match the commitments.
//   justify:   a dealer answers every complaint it has seen (and, at once, any arriving later)
//              by revealing that share; a missing or wrong answer disqualifies it.
// The group key is the sum of the qualified dealers' constant terms. Every honest dealer is
// qualified at every honest member, so with at most t - 1 faulty members and n >= 2t - 1 the DKG
// cannot fail, and faulty dealers are treated alike by every honest member as long as their
// messages land inside the phases. Limit: a faulty member that releases a signed deal, a
// complaint or a justification so that it reaches some honest members just before a phase
// deadline and others just after can still split their views (closing that needs f + 1 relay
// rounds with signature chains, as in Dolev-Strong).
class Dkg {
 public:
  static Result<Dkg> create(const DkgConfig& config, ByteSpan seed);
  void start(std::uint64_t now_ms);
  Status handle(Index from, ByteSpan bytes, std::uint64_t now_ms);
  void tick(std::uint64_t now_ms);
  std::optional<Outgoing> poll_transmit();
  std::optional<DkgEvent> poll_event();
  std::optional<std::uint64_t> next_deadline() const;

  enum class Phase { kIdle, kDeal, kForward, kComplaint, kJustify, kDone };
  Phase phase() const { return phase_; }

 private:
  struct Deal {
    threshold::PublicPoly poly;
    Bytes digest;  // sha256 of the commitments
    Bytes sig;
  };
  struct Dealer {
    std::optional<Deal> deal;         // the first validly signed deal seen
    std::optional<Deal> conflict;     // a second, different one: proof of equivocation
    std::optional<SecretKey> share;   // the share this dealer gave us
    std::set<Index> complaints;       // members who complained about this dealer
    std::set<Index> justified;        // complaints answered with a valid share
    bool disqualified = false;
  };
  Status on_deal(Index dealer, const std::vector<Bytes>& commitments, const Bytes& sig);
  Status on_share(Index from, ByteSpan share);
  Status on_complaint(Index from, Index dealer);
  Status on_justification(Index from, Index complainer, ByteSpan share);
  void forward(Index dealer, const Deal& deal);
  void forward_all();
  bool share_valid(Index dealer, Index member, const SecretKey& share) const;
  void send_complaints();
  void justify(Index complainer);
  void finish();

  DkgConfig config_;
  std::optional<threshold::SecretPoly> poly_;
  Phase phase_ = Phase::kIdle;
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
// Unchained rounds are independent: a round that fewer than t members signed is skipped for
// good. Chained rounds need their predecessor, so a chained member always signs the round after
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
