#include "gossip/membership.h"

#include <algorithm>

namespace nitro::gossip {

Membership::Membership(PeerRef self, const NodeConfig& config, MembershipHost& host)
    : self_(std::move(self)), config_(config), host_(host) {
  assert(config_.active_view_max >= 1);
}

Msg Membership::make(Kind kind) const {
  Msg m;
  m.kind = kind;
  // Requests and probes carry our listen address, so a lost HELLO costs nothing.
  if (kind == Kind::kJoin || kind == Kind::kNeighbor || kind == Kind::kNeighborReply || kind == Kind::kPing) {
    m.name = self_.address;
  }
  return m;
}

void Membership::start(std::uint64_t now_ms) {
  started_ = true;
  // Spread timers so that nodes started together do not probe in lockstep.
  const auto& t = config_.timers;
  next_probe_ms_ = now_ms + host_.rng().below(t.probe_interval_ms) + 1;
  next_shuffle_ms_ = now_ms + host_.rng().below(t.shuffle_interval_ms) + 1;
  next_repair_ms_ = now_ms + t.repair_interval_ms;
  next_reconnect_ms_ = now_ms + t.reconnect_interval_ms + host_.rng().below(t.reconnect_interval_ms);
  for (const auto& contact : config_.bootstrap) {
    if (contact != self_.address) join(contact, false, now_ms);
  }
}

void Membership::join(const Address& contact, bool rejoin, std::uint64_t now_ms) {
  if (contact.empty() || contact == self_.address) return;
  auto it = joins_.find(contact);
  if (it == joins_.end() && joins_.size() < kJoinsMax) it = joins_.emplace(contact, JoinAttempt{}).first;
  if (it != joins_.end()) {
    it->second.attempts++;
    it->second.deadline_ms = now_ms + join_wait_ms(it->second.attempts);
    it->second.rejoin = rejoin;
  }
  Msg m = make(Kind::kJoin);
  m.flag = rejoin;
  host_.send_address(contact, m);
}

// The answer wait after the attempt-th JOIN to a contact: the neighbor timeout, then (only a
// bootstrap contact is tried past kJoinAttemptsMax) doubling up to kBootstrapRetryMaxMs.
std::uint64_t Membership::join_wait_ms(std::uint32_t attempt) const {
  const std::uint64_t base = config_.timers.neighbor_timeout_ms;
  if (attempt <= kJoinAttemptsMax) return base;
  const std::uint32_t doublings = std::min<std::uint32_t>(attempt - kJoinAttemptsMax, 16);
  return std::min(base << doublings, std::max(base, kBootstrapRetryMaxMs));
}

bool Membership::is_bootstrap(const Address& address) const {
  return std::find(config_.bootstrap.begin(), config_.bootstrap.end(), address) != config_.bootstrap.end();
}

void Membership::heard(const PeerRef& from, std::uint64_t now_ms) {
  auto active = active_.find(from.id);
  if (active != active_.end() && !from.address.empty()) active->second = from.address;
  if (suspects_.erase(from.id) != 0 && health_ > 0) --health_;
  if (probe_.running && probe_.target == from.id) probe_succeeded(now_ms);
  indirect_only_.erase(from.id);
  if (dead_.erase(from.id) != 0) add_passive(from);
}

void Membership::on_frame(const PeerRef& from, const Msg& msg, std::uint64_t now_ms) {
  switch (msg.kind) {
    case Kind::kJoin: on_join(from, msg, now_ms); break;
    case Kind::kForwardJoin: on_forward_join(from, msg, now_ms); break;
    case Kind::kNeighbor: on_neighbor(from, msg, now_ms); break;
    case Kind::kNeighborReply:
      if (!from.address.empty()) joins_.erase(from.address);  // the contact answered our JOIN
      if (msg.flag) {
        add_active(from, now_ms);
      } else {
        pending_.erase(from.id);
      }
      break;
    case Kind::kDisconnect: on_disconnect(from, msg, now_ms); break;
    case Kind::kShuffle: on_shuffle(from, msg, now_ms); break;
    case Kind::kShuffleReply: integrate(from.id, msg.peers, last_shuffle_sent_); break;
    case Kind::kPing: on_ping(from, msg, now_ms); break;
    case Kind::kAck: on_ack(from, msg, now_ms); break;
    case Kind::kPingReq: on_ping_req(from, msg, now_ms); break;
    default: break;
  }
}

void Membership::on_join(const PeerRef& from, const Msg& msg, std::uint64_t now_ms) {
  const bool known = is_active(from.id);
  add_active(from, now_ms);
  Msg reply = make(Kind::kNeighborReply);
  reply.flag = true;
  host_.send(from, reply);
  // Welcome sample: the joiner starts with a passive view instead of waiting for shuffles.
  Msg welcome = make(Kind::kShuffleReply);
  welcome.peers = sample_passive(kShuffleActive + kShufflePassive);
  for (const auto& [id, address] : active_) {
    if (id != from.id && welcome.peers.size() < 2 * (kShuffleActive + kShufflePassive)) welcome.peers.push_back(PeerRef{id, address});
  }
  if (!welcome.peers.empty()) host_.send(from, welcome);
  if (msg.flag || known || from.address.empty()) return;  // rejoin: one edge, no walk
  Msg fwd = make(Kind::kForwardJoin);
  fwd.has_peer = true;
  fwd.peer = from;
  fwd.ttl = kActiveWalkLength;
  for (const auto& [id, address] : active_) {
    if (id != from.id) host_.send(PeerRef{id, address}, fwd);
  }
}

void Membership::on_forward_join(const PeerRef& from, const Msg& msg, std::uint64_t now_ms) {
  (void)now_ms;
  const PeerRef& joiner = msg.peer;
  if (!msg.has_peer || joiner.id == self_.id || joiner.address.empty()) return;
  if (msg.ttl == 0 || active_.size() <= 1) {
    if (is_active(joiner.id) || pending_.count(joiner.id) != 0) return;
    Msg m = make(Kind::kNeighbor);
    m.flag = true;  // the joiner must accept: it asked to join
    pending_[joiner.id] = Pending{joiner.address, now_ms + config_.timers.neighbor_timeout_ms};
    host_.send(joiner, m);
    return;
  }
  if (msg.ttl == kPassiveWalkLength) integrate(from.id, {joiner}, {});
  auto next = random_active_except(from.id, joiner.id);
  if (!next) return;
  Msg fwd = msg;
  fwd.ttl = std::min(msg.ttl, kActiveWalkLength) - 1;  // a walk no longer than an honest one
  host_.send(PeerRef{*next, active_[*next]}, fwd);
}

void Membership::on_neighbor(const PeerRef& from, const Msg& msg, std::uint64_t now_ms) {
  Msg reply = make(Kind::kNeighborReply);
  reply.flag = msg.flag || is_active(from.id) || active_.size() < config_.active_view_max;
  if (reply.flag) add_active(from, now_ms);
  host_.send(from, reply);
}

void Membership::on_disconnect(const PeerRef& from, const Msg& msg, std::uint64_t now_ms) {
  pending_.erase(from.id);
  if (active_.erase(from.id) == 0) return;
  suspects_.erase(from.id);
  if (msg.flag) add_passive(from);
  host_.neighbor_down(from.id, now_ms);
  next_repair_ms_ = now_ms;
}

void Membership::on_shuffle(const PeerRef& from, const Msg& msg, std::uint64_t now_ms) {
  (void)now_ms;
  if (!msg.has_peer || msg.peer.id == self_.id) return;
  if (msg.ttl > 0 && active_.size() > 1) {
    auto next = random_active_except(from.id, msg.peer.id);
    if (next) {
      Msg fwd = msg;
      fwd.ttl = std::min(msg.ttl, kShuffleWalkLength) - 1;  // a walk no longer than an honest one
      host_.send(PeerRef{*next, active_[*next]}, fwd);
      return;
    }
  }
  Msg reply = make(Kind::kShuffleReply);
  reply.peers = sample_passive(msg.peers.size());
  std::vector<PeerId> sent;
  for (const auto& r : reply.peers) sent.push_back(r.id);
  // A short passive view (a small network, where everyone is someone's neighbor) is topped up
  // with neighbors: otherwise peers that only ever meet through a hub never learn of each other,
  // and when the hub dies they are two islands with no address to rejoin by.
  for (const auto& [id, address] : active_) {
    if (reply.peers.size() >= msg.peers.size()) break;
    if (id != msg.peer.id && id != from.id) reply.peers.push_back(PeerRef{id, address});
  }
  host_.send(msg.peer, reply);
  integrate(from.id, msg.peers, sent);
}

void Membership::on_ping(const PeerRef& from, const Msg& msg, std::uint64_t now_ms) {
  Msg ack = make(Kind::kAck);
  ack.nonce = msg.nonce;
  host_.send(from, ack);
  if (!msg.flag || is_active(from.id)) return;
  // The sender counts us as its neighbor: make the views symmetric again.
  if (active_.size() < config_.active_view_max || pending_.count(from.id) != 0) {
    add_active(from, now_ms);
  } else {
    Msg bye = make(Kind::kDisconnect);
    bye.flag = true;
    host_.send(from, bye);
  }
}

void Membership::on_ack(const PeerRef& from, const Msg& msg, std::uint64_t now_ms) {
  if (probe_.running && msg.nonce == probe_.nonce) {
    const PeerId target = probe_.target;
    probe_succeeded(now_ms);
    if (from.id == target) return;
    if (indirect_only_.size() > 4 * config_.active_view_max) indirect_only_.clear();  // bounded
    if (++indirect_only_[target] >= kIndirectOnlyMax) {
      indirect_only_.erase(target);
      remove_failed(target, now_ms);
    }
    return;
  }
  auto it = relays_.find(msg.nonce);
  if (it == relays_.end()) return;
  Msg ack = make(Kind::kAck);
  ack.nonce = it->second.requester_nonce;
  const PeerId requester = it->second.requester;
  relays_.erase(it);
  host_.send(PeerRef{requester, ""}, ack);
}

void Membership::on_ping_req(const PeerRef& from, const Msg& msg, std::uint64_t now_ms) {
  if (!msg.has_peer || msg.peer.id == self_.id || relays_.size() >= kRelaysMax) return;
  const std::uint64_t nonce = ++nonce_;
  relays_[nonce] = Relay{from.id, msg.nonce, now_ms + 2 * probe_timeout_ms()};
  Msg ping = make(Kind::kPing);
  ping.nonce = nonce;
  host_.send(msg.peer, ping);
}

void Membership::add_active(const PeerRef& ref, std::uint64_t now_ms) {
  pending_.erase(ref.id);
  if (ref.id == self_.id) return;
  if (is_active(ref.id)) {
    if (!ref.address.empty()) active_[ref.id] = ref.address;
    return;
  }
  if (active_.size() >= config_.active_view_max) drop_random_active(now_ms);
  active_[ref.id] = ref.address;
  known_.remember(ref);
  passive_.erase(ref.id);
  dead_.erase(ref.id);
  suspects_.erase(ref.id);
  host_.stats().neighbors_up++;
  host_.neighbor_up(ref.id, now_ms);
}

void PeerMemory::remember(const PeerRef& ref) {
  if (ref.address.empty()) return;
  if (entries_.count(ref.id) == 0) {
    if (order_.size() >= max_) {
      entries_.erase(order_.front());
      order_.pop_front();
    }
    order_.push_back(ref.id);
  }
  entries_[ref.id] = ref.address;
}

void PeerMemory::forget(const PeerId& peer) {
  if (entries_.erase(peer) != 0) order_.erase(std::find(order_.begin(), order_.end(), peer));
}

void Membership::drop_random_active(std::uint64_t now_ms) {
  assert(!active_.empty());
  auto it = std::next(active_.begin(), static_cast<long>(host_.rng().below(active_.size())));
  const PeerRef victim{it->first, it->second};
  active_.erase(it);
  suspects_.erase(victim.id);
  Msg bye = make(Kind::kDisconnect);
  bye.flag = true;
  host_.send(victim, bye);
  add_passive(victim);
  host_.stats().neighbors_down++;
  host_.neighbor_down(victim.id, now_ms);
}

void Membership::remove_failed(const PeerId& peer, std::uint64_t now_ms) {
  suspects_.erase(peer);
  auto it = active_.find(peer);
  if (it == active_.end()) return;
  const Address address = it->second;
  active_.erase(it);
  suspects_.erase(peer);
  if (probe_.running && probe_.target == peer) probe_.running = false;
  mark_dead(peer, address, now_ms);
  host_.stats().deaths++;
  host_.stats().neighbors_down++;
  host_.neighbor_down(peer, now_ms);
  host_.hangup(peer);
  next_repair_ms_ = now_ms;
}

void Membership::mark_dead(const PeerId& peer, const Address& address, std::uint64_t now_ms) {
  passive_.erase(peer);
  if (address.empty()) return;
  if (dead_.size() >= kDeadMax && dead_.count(peer) == 0) {
    auto oldest = std::min_element(dead_.begin(), dead_.end(),
                                   [](const auto& a, const auto& b) { return a.second.at_ms < b.second.at_ms; });
    dead_.erase(oldest);
  }
  dead_[peer] = Dead{address, now_ms};
}

void Membership::on_link_down(const PeerId& peer, std::uint64_t now_ms) {
  if (pending_.erase(peer) != 0) passive_.erase(peer);
  remove_failed(peer, now_ms);
}

// A JOIN lost with its transport (a dial that failed, a handshake the contact gave up on) would
// wait out neighbor_timeout_ms; a newcomer whose only contact is that one has nothing else to do.
void Membership::on_transport_closed(const Address& address, std::uint64_t now_ms) {
  auto it = joins_.find(address);
  if (it != joins_.end()) it->second.deadline_ms = std::min(it->second.deadline_ms, now_ms + kJoinRedialMs);
}

void Membership::on_dial_failed(const Address& address, std::uint64_t now_ms) {
  std::vector<PeerId> failed;
  for (const auto& [id, p] : pending_) {
    if (p.address == address) failed.push_back(id);
  }
  for (const auto& [id, a] : passive_) {
    if (a == address) failed.push_back(id);
  }
  (void)now_ms;
  // Only neighbors that failed while active are remembered as dead (and retried); a passive
  // candidate that cannot be reached is simply forgotten.
  for (const auto& id : failed) {
    pending_.erase(id);
    passive_.erase(id);
  }
}

bool Membership::is_active_address(const Address& address) const {
  return std::any_of(active_.begin(), active_.end(), [&](const auto& entry) { return entry.second == address; });
}

void Membership::add_passive(const PeerRef& ref) {
  if (ref.id == self_.id || ref.address.empty() || is_active(ref.id)) return;
  if (passive_.count(ref.id) != 0) {
    passive_[ref.id] = ref.address;
    return;
  }
  if (passive_.size() >= config_.passive_view_max) {
    if (config_.passive_view_max == 0) return;
    auto it = std::next(passive_.begin(), static_cast<long>(host_.rng().below(passive_.size())));
    passive_.erase(it);
  }
  passive_[ref.id] = ref.address;
  passive_source_.erase(ref.id);
  heard_of_.remember(ref);
}

void Membership::forget(const PeerId& peer, std::uint64_t now_ms) {
  remove_failed(peer, now_ms);  // closing its link has done so already, unless it had none
  passive_.erase(peer);
  pending_.erase(peer);
  dead_.erase(peer);
  suspects_.erase(peer);
  known_.forget(peer);
  heard_of_.forget(peer);
}

// Whether `source` may place one more peer in our passive view (counted when it may not).
bool Membership::admit_ref(const PeerId& source) {
  const std::size_t share_max = (config_.passive_view_max + 1) / 2;
  std::size_t share = 0;
  for (auto it = passive_source_.begin(); it != passive_source_.end();) {
    if (passive_.count(it->first) == 0) {
      it = passive_source_.erase(it);  // left the passive view since
      continue;
    }
    share += it->second == source;
    ++it;
  }
  if (share < share_max) return true;
  host_.stats().membership_refused++;
  return false;
}

// A peer we only heard of from `source`: budgeted (before it may evict anything), and remembered
// as that source's. Entries we just handed to the other side go first (HyParView's shuffle rule).
void Membership::add_passive_from(const PeerId& source, const PeerRef& ref, std::vector<PeerId>& evictable) {
  if (ref.id == self_.id || ref.address.empty() || is_active(ref.id) || passive_.count(ref.id) != 0 ||
      dead_.count(ref.id) != 0) {
    return;
  }
  if (ref.id != source && !admit_ref(source)) return;
  while (passive_.size() >= config_.passive_view_max && !evictable.empty()) {
    passive_.erase(evictable.back());
    evictable.pop_back();
  }
  add_passive(ref);
  if (passive_.count(ref.id) != 0 && ref.id != source) passive_source_[ref.id] = source;
}

void Membership::integrate(const PeerId& source, const std::vector<PeerRef>& refs, std::vector<PeerId> evictable) {
  if (refs.size() > kRefsPerMessageMax) host_.stats().membership_refused += refs.size() - kRefsPerMessageMax;
  for (std::size_t k = 0; k < refs.size() && k < kRefsPerMessageMax; ++k) add_passive_from(source, refs[k], evictable);
}

std::vector<PeerRef> Membership::sample_passive(std::size_t n) {
  std::vector<PeerRef> all;
  all.reserve(passive_.size());
  for (const auto& [id, address] : passive_) all.push_back(PeerRef{id, address});
  shuffle(all, host_.rng());
  if (all.size() > n) all.resize(n);
  return all;
}

std::optional<PeerId> Membership::random_active_except(const PeerId& a, const PeerId& b) {
  std::vector<PeerId> candidates;
  for (const auto& [id, address] : active_) {
    if (id != a && id != b) candidates.push_back(id);
  }
  if (candidates.empty()) return std::nullopt;
  return candidates[host_.rng().below(candidates.size())];
}

std::vector<PeerId> Membership::active() const {
  std::vector<PeerId> out;
  for (const auto& [id, address] : active_) out.push_back(id);
  return out;
}

std::vector<PeerRef> Membership::passive() const {
  std::vector<PeerRef> out;
  for (const auto& [id, address] : passive_) out.push_back(PeerRef{id, address});
  return out;
}

}  // namespace nitro::gossip
