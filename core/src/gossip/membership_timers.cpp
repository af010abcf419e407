// Membership timers: SWIM probing, suspicion, NEIGHBOR request timeouts, active-view repair,
// shuffles and reconnects. Each runs at most once per tick() and arms its own next time.
#include <algorithm>
#include <set>

#include "gossip/membership.h"

namespace nitro::gossip {

std::uint64_t Membership::probe_timeout_ms() const {
  return config_.timers.probe_timeout_ms * static_cast<std::uint64_t>(1 + health_);
}

void Membership::tick(std::uint64_t now_ms) {
  if (!started_) return;
  tick_probe(now_ms);
  tick_suspects(now_ms);
  tick_pending(now_ms);
  tick_joins(now_ms);
  for (auto it = relays_.begin(); it != relays_.end();) {
    it = it->second.deadline_ms <= now_ms ? relays_.erase(it) : std::next(it);
  }
  if (now_ms >= next_repair_ms_) tick_repair(now_ms);
  if (now_ms >= next_shuffle_ms_) tick_shuffle(now_ms);
  if (now_ms >= next_reconnect_ms_) tick_reconnect(now_ms);
}

std::optional<std::uint64_t> Membership::next_deadline() const {
  if (!started_) return std::nullopt;
  // While a probe runs (it may outlast probe_interval when local health scales its timeout),
  // the next probe waits for it: only the running probe's own deadline counts.
  // Idle means idle: repair and reconnect wake the node only while they have work (a view to
  // fill, a dead peer to retry); when work appears, their overdue time makes them run at once.
  std::uint64_t t = next_shuffle_ms_;
  if (repair_has_work()) t = std::min(t, next_repair_ms_);
  if (!dead_.empty()) t = std::min(t, next_reconnect_ms_);
  if (!probe_.running) t = std::min(t, next_probe_ms_);
  if (probe_.running) {
    t = std::min(t, probe_.indirect_sent ? probe_.sent_ms + 2 * probe_timeout_ms()
                                         : probe_.sent_ms + probe_timeout_ms());
  }
  for (const auto& [id, deadline] : suspects_) t = std::min(t, deadline);
  for (const auto& [id, p] : pending_) t = std::min(t, p.deadline_ms);
  for (const auto& [address, j] : joins_) t = std::min(t, j.deadline_ms);
  for (const auto& [nonce, r] : relays_) t = std::min(t, r.deadline_ms);
  return t;
}

void Membership::probe_succeeded(std::uint64_t now_ms) {
  (void)now_ms;
  probe_.running = false;
  suspects_.erase(probe_.target);
  if (health_ > 0) --health_;
}

void Membership::tick_probe(std::uint64_t now_ms) {
  if (probe_.running) {
    if (!probe_.indirect_sent && now_ms >= probe_.sent_ms + probe_timeout_ms()) {
      probe_.indirect_sent = true;
      std::vector<PeerId> helpers;
      for (const auto& [id, address] : active_) {
        if (id != probe_.target) helpers.push_back(id);
      }
      shuffle(helpers, host_.rng());
      if (helpers.size() > kIndirectProbes) helpers.resize(kIndirectProbes);
      Msg req = make(Kind::kPingReq);
      req.has_peer = true;
      req.peer = PeerRef{probe_.target, active_.count(probe_.target) ? active_[probe_.target] : ""};
      req.nonce = probe_.nonce;
      for (const auto& h : helpers) host_.send(PeerRef{h, active_[h]}, req);
    }
    if (probe_.indirect_sent && now_ms >= probe_.sent_ms + 2 * probe_timeout_ms()) {
      probe_.running = false;
      health_ = std::min(health_ + 1, kHealthMax);
      if (is_active(probe_.target) && suspects_.count(probe_.target) == 0) {
        suspects_[probe_.target] = now_ms + config_.timers.suspicion_timeout_ms;
        host_.stats().suspicions++;
      }
    }
  }
  if (probe_.running || now_ms < next_probe_ms_) return;
  next_probe_ms_ = now_ms + config_.timers.probe_interval_ms;
  if (active_.empty()) return;
  if (probe_index_ >= probe_order_.size()) {
    probe_order_ = active();
    shuffle(probe_order_, host_.rng());
    probe_index_ = 0;
  }
  const PeerId target = probe_order_[probe_index_++];
  if (!is_active(target)) return;
  probe_ = Probe{true, false, target, ++nonce_, now_ms};
  Msg ping = make(Kind::kPing);
  ping.nonce = probe_.nonce;
  ping.flag = true;  // "you are in my active view"
  host_.send(PeerRef{target, active_[target]}, ping);
}

void Membership::tick_suspects(std::uint64_t now_ms) {
  std::vector<PeerId> expired;
  for (const auto& [id, deadline] : suspects_) {
    if (deadline <= now_ms) expired.push_back(id);
  }
  for (const auto& id : expired) remove_failed(id, now_ms);
}

void Membership::tick_pending(std::uint64_t now_ms) {
  std::vector<PeerId> expired;
  for (const auto& [id, p] : pending_) {
    if (p.deadline_ms <= now_ms) expired.push_back(id);
  }
  for (const auto& id : expired) {
    pending_.erase(id);
    passive_.erase(id);
  }
}

void Membership::tick_joins(std::uint64_t now_ms) {
  std::vector<std::pair<Address, bool>> retry;
  for (auto it = joins_.begin(); it != joins_.end();) {
    if (it->second.deadline_ms > now_ms) {
      ++it;
    } else if (is_active_address(it->first)) {
      // The contact became our neighbor by another way (its own dial, a forward join) and its
      // answer was lost: the join is done. Retrying would hang up the very link that serves it.
      it = joins_.erase(it);
    } else if (it->second.attempts >= kJoinAttemptsMax && !is_bootstrap(it->first)) {
      // Give up on this contact; repair/rejoin will pick another. A bootstrap contact is never
      // given up, only backed off (join_wait_ms): lost handshakes can leave it, and whoever
      // joined only through it, an island that knows nobody else, and the nodes configured with
      // its address are then the only way that island ever meets the rest.
      it = joins_.erase(it);
    } else {
      retry.emplace_back(it->first, it->second.rejoin);
      ++it;
    }
  }
  for (const auto& [address, rejoin] : retry) {
    host_.hangup_address(address);
    join(address, rejoin, now_ms);
  }
}

bool Membership::repair_has_work() const {
  return (passive_.empty() && pending_.empty()) || active_.size() + pending_.size() < config_.active_view_max;
}

void Membership::tick_repair(std::uint64_t now_ms) {
  next_repair_ms_ = now_ms + config_.timers.repair_interval_ms;
  // An empty passive view means we know nobody beyond our neighbors: either the view ran dry
  // (a lost JOIN, churn) or we sit in a closed clique of active_view_max + 1 nodes that shuffles
  // can never open. Join again through a bootstrap contact or a peer we once knew; a contact that
  // already counts us as its neighbor just answers.
  if (passive_.empty() && pending_.empty()) {
    rejoin(now_ms);
    next_repair_ms_ = now_ms + config_.timers.reconnect_interval_ms;
    return;
  }
  constexpr std::size_t kRequestsPerRepair = 2;
  for (std::size_t i = 0; i < kRequestsPerRepair; ++i) {
    if (active_.size() + pending_.size() >= config_.active_view_max) return;
    std::vector<PeerRef> candidates;
    for (const auto& [id, address] : passive_) {
      if (pending_.count(id) == 0) candidates.push_back(PeerRef{id, address});
    }
    if (candidates.empty()) return;
    const PeerRef pick = candidates[host_.rng().below(candidates.size())];
    Msg m = make(Kind::kNeighbor);
    // High priority (the receiver must accept) with fewer than half the neighbors wanted: a few
    // nodes holding only each other (three, each with two neighbors: gossip partition sim, seed
    // 5699077232671028) form an island that low-priority requests, refused by full views, never open.
    m.flag = active_.size() * 2 < config_.active_view_max;
    pending_[pick.id] = Pending{pick.address, now_ms + config_.timers.neighbor_timeout_ms};
    host_.send(pick, m);
  }
}

void Membership::tick_shuffle(std::uint64_t now_ms) {
  next_shuffle_ms_ = now_ms + config_.timers.shuffle_interval_ms;
  if (active_.empty() || self_.address.empty()) return;
  Msg m = make(Kind::kShuffle);
  m.has_peer = true;
  m.peer = self_;
  m.ttl = kShuffleWalkLength;
  std::vector<PeerId> act = active();
  shuffle(act, host_.rng());
  for (std::size_t i = 0; i < act.size() && i < kShuffleActive; ++i) m.peers.push_back(PeerRef{act[i], active_[act[i]]});
  for (const auto& r : sample_passive(kShufflePassive)) m.peers.push_back(r);
  last_shuffle_sent_.clear();
  for (const auto& r : m.peers) last_shuffle_sent_.push_back(r.id);
  const PeerId to = act[0];
  host_.send(PeerRef{to, active_[to]}, m);
  if (host_.rng().below(kRefreshOneInShuffles) == 0) refresh_active(now_ms);
}

// Shuffles walk only among neighbors, and full active views never repair, so a few nodes holding
// exactly each other form a closed island: active_view_max + 1 of them with full views, or fewer
// whose low-priority requests every full view refuses. Two such islands split a small overlay for
// good, each one's nodes only in the other's passive views. Now and then a node therefore asks a
// random passive peer to become its neighbor with high priority (it cannot refuse); each side
// makes room by dropping a random neighbor, which repairs from its own passive view. Rare enough
// to cost little link churn at any network size.
void Membership::refresh_active(std::uint64_t now_ms) {
  if (!pending_.empty()) return;
  std::vector<PeerRef> candidates;
  for (const auto& [id, address] : passive_) candidates.push_back(PeerRef{id, address});
  if (candidates.empty()) return;
  const PeerRef pick = candidates[host_.rng().below(candidates.size())];
  Msg m = make(Kind::kNeighbor);
  m.flag = true;
  pending_[pick.id] = Pending{pick.address, now_ms + config_.timers.neighbor_timeout_ms};
  host_.send(pick, m);
}

// Cycles through every address we have: bootstrap contacts, former neighbors and peers once in
// the passive view. Peers known to have failed are retried by tick_reconnect already; they are
// skipped here while any other candidate exists, so that an island whose former neighbors all
// crashed reaches the rest of the network through peers it only heard of.
void Membership::rejoin(std::uint64_t now_ms) {
  std::set<Address> fresh, failed;
  auto consider = [&](const PeerId* id, const Address& address) {
    if (address.empty() || address == self_.address) return;
    if (id && is_active(*id)) return;
    (id && dead_.count(*id) != 0 ? failed : fresh).insert(address);
  };
  for (const auto& contact : config_.bootstrap) consider(nullptr, contact);
  for (const auto& [id, address] : known_.entries()) consider(&id, address);
  for (const auto& [id, address] : heard_of_.entries()) consider(&id, address);
  for (const auto& a : fresh) failed.erase(a);
  const std::set<Address>& pool = fresh.empty() ? failed : fresh;
  if (pool.empty()) return;
  join(*std::next(pool.begin(), static_cast<long>(rejoin_index_++ % pool.size())), false, now_ms);
}

void Membership::tick_reconnect(std::uint64_t now_ms) {
  next_reconnect_ms_ = now_ms + config_.timers.reconnect_interval_ms;
  for (auto it = dead_.begin(); it != dead_.end();) {
    it = it->second.at_ms + kDeadTtlMs <= now_ms ? dead_.erase(it) : std::next(it);
  }
  if (dead_.empty()) return;
  auto it = std::next(dead_.begin(), static_cast<long>(host_.rng().below(dead_.size())));
  Msg m = make(Kind::kJoin);
  m.flag = true;  // rejoin: one edge; heals partitions without a join storm
  host_.send(PeerRef{it->first, it->second.address}, m);
}

}  // namespace nitro::gossip
