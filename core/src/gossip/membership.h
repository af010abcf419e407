// Membership: a HyParView partial-view overlay (Leitão, Pereira, Rodrigues, DSN 2007) with
// SWIM-style failure detection (Das, Gupta, Motivala 2002) and Lifeguard's local health multiplier
// (Dadgar et al. 2018) on the active view.
//
// Contract: a deterministic state machine driven by NodeImpl. No IO: frames go out through
// MembershipHost::send; time is `now_ms`; randomness is the host's seeded Rng.
//   * Active view (<= active_view_max): symmetric neighbors with an open link; gossip runs on it.
//   * Passive view (<= passive_view_max): addresses to promote when an active neighbor fails;
//     refreshed by periodic shuffles along random walks.
//   * Failure detection: every probe_interval one active neighbor gets a PING; no ACK within the
//     (health-scaled) probe timeout -> PING-REQ through up to 3 other neighbors; still nothing ->
//     suspect; any authenticated frame from the suspect clears it; suspicion timeout -> dead.
//   * Dead peers are remembered (bounded) and retried with a REJOIN every reconnect_interval:
//     that is how two halves of a healed partition find each other again.
// Every map is bounded by a NodeConfig size or a constant below.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <vector>

#include "gossip/rng.h"
#include "gossip/wire.h"
#include "nitro/node.h"

namespace nitro::gossip {

class MembershipHost {
 public:
  virtual ~MembershipHost() = default;
  // Over the link to `to.id` if one is up, else dial `to.address` (dropped if it is empty).
  virtual void send(const PeerRef& to, const Msg& msg) = 0;
  virtual void send_address(const Address& address, const Msg& msg) = 0;
  virtual void hangup(const PeerId& peer) = 0;
  // Close whatever link runs to `address` (a JOIN went unanswered: the next attempt redials).
  virtual void hangup_address(const Address& address) = 0;
  virtual void neighbor_up(const PeerId& peer, std::uint64_t now_ms) = 0;
  virtual void neighbor_down(const PeerId& peer, std::uint64_t now_ms) = 0;
  virtual Rng& rng() = 0;
  virtual NodeStats& stats() = 0;
};

// Addresses of peers met one way or another, bounded: the oldest is forgotten first.
class PeerMemory {
 public:
  explicit PeerMemory(std::size_t max) : max_(max) {}
  void remember(const PeerRef& ref);
  void forget(const PeerId& peer);
  const std::map<PeerId, Address>& entries() const { return entries_; }

 private:
  std::size_t max_;
  std::map<PeerId, Address> entries_;
  std::deque<PeerId> order_;  // oldest first
};

class Membership {
 public:
  static constexpr std::uint32_t kActiveWalkLength = 6;   // ARWL
  static constexpr std::uint32_t kPassiveWalkLength = 3;  // PRWL
  static constexpr std::uint32_t kShuffleWalkLength = 4;
  static constexpr std::size_t kShuffleActive = 3;
  static constexpr std::size_t kShufflePassive = 4;
  static constexpr std::size_t kIndirectProbes = 3;
  // A neighbor answering only through helpers this many probes in a row is alive but our link to
  // it is dead (e.g. it restarted and the old connection went silent): drop it, so the link is
  // re-dialed and the views become symmetric again.
  static constexpr std::uint32_t kIndirectOnlyMax = 2;
  static constexpr std::size_t kDeadMax = 64;
  static constexpr std::size_t kKnownMax = 64;
  static constexpr std::size_t kHeardOfMax = 64;
  // Peer refs cannot be verified until dialed, so one sender (the authenticated neighbor that
  // handed them to us) may hold at most half of the passive view, and one message carries at most
  // what an honest welcome does: a flood of made-up peers cannot crowd out the real ones.
  static constexpr std::size_t kRefsPerMessageMax = 2 * (kShuffleActive + kShufflePassive);
  static constexpr std::size_t kJoinsMax = 16;
  static constexpr std::uint32_t kJoinAttemptsMax = 4;
  static constexpr std::uint64_t kJoinRedialMs = 250;
  static constexpr std::uint64_t kBootstrapRetryMaxMs = 10000;  // unanswered bootstrap contact: retry at least this often
  static constexpr std::size_t kRelaysMax = 64;
  static constexpr std::uint64_t kDeadTtlMs = 10 * 60 * 1000;
  static constexpr int kHealthMax = 8;
  // A node with a full active view asks a passive peer to swap in, on average once per this many
  // shuffles (see refresh_active).
  static constexpr std::uint64_t kRefreshOneInShuffles = 6;
  static_assert(kPassiveWalkLength < kActiveWalkLength);

  Membership(PeerRef self, const NodeConfig& config, MembershipHost& host);

  void start(std::uint64_t now_ms);
  void join(const Address& contact, bool rejoin, std::uint64_t now_ms);
  // Any authenticated frame from `from` (evidence of life), before on_frame.
  void heard(const PeerRef& from, std::uint64_t now_ms);
  void on_frame(const PeerRef& from, const Msg& msg, std::uint64_t now_ms);
  void on_link_down(const PeerId& peer, std::uint64_t now_ms);
  void on_dial_failed(const Address& address, std::uint64_t now_ms);
  // The transport to `address` closed: a JOIN still unanswered on it is retried soon.
  void on_transport_closed(const Address& address, std::uint64_t now_ms);
  void tick(std::uint64_t now_ms);
  std::optional<std::uint64_t> next_deadline() const;

  bool is_active(const PeerId& peer) const { return active_.count(peer) != 0; }
  bool is_active_address(const Address& address) const;
  std::vector<PeerId> active() const;
  std::vector<PeerRef> passive() const;
  void add_passive(const PeerRef& ref);
  // A refused peer: out of every view and memory, so nothing dials it again.
  void forget(const PeerId& peer, std::uint64_t now_ms);
  std::size_t suspects() const { return suspects_.size(); }

 private:
  struct Pending { Address address; std::uint64_t deadline_ms = 0; };
  struct Dead { Address address; std::uint64_t at_ms = 0; };
  std::map<PeerId, std::uint32_t> indirect_only_;  // consecutive helper-only acks per neighbor
  struct Probe {
    bool running = false;
    bool indirect_sent = false;
    PeerId target;
    std::uint64_t nonce = 0;
    std::uint64_t sent_ms = 0;
  };
  struct Relay { PeerId requester; std::uint64_t requester_nonce = 0; std::uint64_t deadline_ms = 0; };

  Msg make(Kind kind) const;
  void on_join(const PeerRef& from, const Msg& msg, std::uint64_t now_ms);
  void on_forward_join(const PeerRef& from, const Msg& msg, std::uint64_t now_ms);
  void on_neighbor(const PeerRef& from, const Msg& msg, std::uint64_t now_ms);
  void on_disconnect(const PeerRef& from, const Msg& msg, std::uint64_t now_ms);
  void on_shuffle(const PeerRef& from, const Msg& msg, std::uint64_t now_ms);
  void on_ping(const PeerRef& from, const Msg& msg, std::uint64_t now_ms);
  void on_ack(const PeerRef& from, const Msg& msg, std::uint64_t now_ms);
  void on_ping_req(const PeerRef& from, const Msg& msg, std::uint64_t now_ms);

  void add_active(const PeerRef& ref, std::uint64_t now_ms);
  void drop_random_active(std::uint64_t now_ms);
  void remove_failed(const PeerId& peer, std::uint64_t now_ms);
  void mark_dead(const PeerId& peer, const Address& address, std::uint64_t now_ms);
  // Peer refs `source` told us of; `evictable`: passive entries we just sent it, dropped first.
  void integrate(const PeerId& source, const std::vector<PeerRef>& refs, std::vector<PeerId> evictable);
  bool admit_ref(const PeerId& source);
  void add_passive_from(const PeerId& source, const PeerRef& ref, std::vector<PeerId>& evictable);
  std::vector<PeerRef> sample_passive(std::size_t n);
  std::optional<PeerId> random_active_except(const PeerId& a, const PeerId& b);

  void tick_probe(std::uint64_t now_ms);
  void probe_succeeded(std::uint64_t now_ms);
  void tick_suspects(std::uint64_t now_ms);
  void tick_pending(std::uint64_t now_ms);
  void tick_repair(std::uint64_t now_ms);
  bool repair_has_work() const;
  void tick_shuffle(std::uint64_t now_ms);
  void refresh_active(std::uint64_t now_ms);
  void tick_reconnect(std::uint64_t now_ms);
  void rejoin(std::uint64_t now_ms);
  void tick_joins(std::uint64_t now_ms);
  std::uint64_t probe_timeout_ms() const;
  std::uint64_t join_wait_ms(std::uint32_t attempt) const;
  bool is_bootstrap(const Address& address) const;

  PeerRef self_;
  const NodeConfig& config_;
  MembershipHost& host_;
  std::map<PeerId, Address> active_;
  std::map<PeerId, Address> passive_;
  std::map<PeerId, Pending> pending_;
  std::map<PeerId, Dead> dead_;
  // Every peer that was ever an active neighbor (bounded, oldest forgotten first): when the
  // passive view runs dry, rejoining through one of these reconnects an island to the rest.
  struct JoinAttempt { std::uint64_t deadline_ms = 0; std::uint32_t attempts = 0; bool rejoin = false; };
  std::map<Address, JoinAttempt> joins_;  // JOINs not yet answered by their contact (<= kJoinsMax)
  PeerMemory known_{kKnownMax};
  // Every peer a passive view ever held. A passive entry is dropped after one failed request, and
  // during a partition every request across it fails, so the passive view forgets the other side;
  // this memory lets an isolated node rejoin through it.
  PeerMemory heard_of_{kHeardOfMax};
  std::map<PeerId, PeerId> passive_source_;  // passive entry -> the neighbor that told us of it
  std::size_t rejoin_index_ = 0;
  std::map<PeerId, std::uint64_t> suspects_;  // peer -> suspicion deadline
  std::map<std::uint64_t, Relay> relays_;     // our ping nonce -> who asked (PING-REQ)
  std::vector<PeerId> last_shuffle_sent_;
  std::vector<PeerId> probe_order_;
  std::size_t probe_index_ = 0;
  Probe probe_;
  int health_ = 0;  // Lifeguard local health multiplier, 0..kHealthMax
  std::uint64_t nonce_ = 0;
  std::size_t bootstrap_index_ = 0;
  std::uint64_t next_probe_ms_ = 0, next_shuffle_ms_ = 0, next_repair_ms_ = 0, next_reconnect_ms_ = 0;
  bool started_ = false;
};

}  // namespace nitro::gossip
