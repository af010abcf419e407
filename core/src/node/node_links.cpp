// NodeImpl, link layer: one crypto::SecureLink per transport address. Frames before the
// handshake completes wait in a bounded per-link queue; a second link to an already linked peer
// is resolved the same way on both ends (the link dialed by the smaller PeerId wins).
#include <sodium.h>

#include <algorithm>

#include "node/node_impl.h"

namespace nitro {

crypto::Seed NodeImpl::fresh_seed() {
  // Keyed BLAKE2b of a counter under the injected entropy: fresh per link, reproducible per seed.
  crypto::Seed out{};
  std::uint8_t counter[8];
  const std::uint64_t c = ++seed_counter_;
  for (int i = 0; i < 8; ++i) counter[i] = static_cast<std::uint8_t>(c >> (8 * i));
  crypto_generichash(out.data(), out.size(), counter, sizeof counter, config_.entropy.data(), config_.entropy.size());
  return out;
}

void NodeImpl::random_bytes(std::span<std::uint8_t> out) {
  for (std::size_t i = 0; i < out.size(); i += 8) {
    std::uint64_t r = rng_.next();
    for (std::size_t j = 0; j < 8 && i + j < out.size(); ++j) out[i + j] = static_cast<std::uint8_t>(r >> (8 * j));
  }
}

void NodeImpl::push_transmit(const Address& address, Bytes bytes) {
  if (transmits_.size() >= config_.limits.transmit_queue_max) {
    stats_.dropped_backpressure++;
    return;
  }
  stats_.frames_out++;
  stats_.bytes_out += bytes.size();
  transmits_.push_back(Transmit{address, std::move(bytes)});
}

void NodeImpl::emit(Event event) {
  if (events_.size() >= config_.limits.event_queue_max) {
    stats_.dropped_backpressure++;
    return;
  }
  events_.push_back(std::move(event));
}

NodeImpl::Link& NodeImpl::open_link(const Address& address) {
  auto it = links_.find(address);
  if (it != links_.end()) return it->second;
  Link& link = links_[address];
  link.address = address;
  link.dialing = true;
  link.created_ms = now_ms_;
  links_deadline_ms_ = std::min(links_deadline_ms_, now_ms_ + config_.timers.handshake_timeout_ms);
  link.active_ms = now_ms_;
  Event dial;
  dial.type = EventType::kDial;
  dial.address = address;
  emit(std::move(dial));
  return link;
}

void NodeImpl::send_plain(Link& link, Bytes plaintext) {
  link.active_ms = now_ms_;
  if (!link.established) {
    if (link.pending.size() >= config_.limits.pending_frames_per_link_max) {
      stats_.dropped_backpressure++;
      return;
    }
    link.pending.push_back(std::move(plaintext));
    return;
  }
  Status s = link.secure->send(plaintext);
  if (!s.ok()) {
    stats_.dropped_backpressure++;
    return;
  }
  drain_link(link, now_ms_);
}

void NodeImpl::send_address(const Address& address, const gossip::Msg& msg) {
  if (address.empty() || address == config_.listen_address) return;
  if (links_.size() >= config_.limits.links_max && links_.count(address) == 0) {
    stats_.dropped_backpressure++;
    return;
  }
  send_plain(open_link(address), gossip::encode(msg));
}

void NodeImpl::send(const gossip::PeerRef& to, const gossip::Msg& msg) {
  if (to.id == id()) return;
  auto it = by_peer_.find(to.id);
  if (it != by_peer_.end()) {
    send_plain(links_.at(it->second), gossip::encode(msg));
    return;
  }
  send_address(to.address, msg);
}

void NodeImpl::send(const PeerId& to, const gossip::Msg& msg) { send(gossip::PeerRef{to, ""}, msg); }

Status NodeImpl::inject_frame(const PeerId& peer, std::span<const std::uint8_t> frame) {
  auto it = by_peer_.find(peer);
  if (it == by_peer_.end()) return unavailable("no established link to peer");
  send_plain(links_.at(it->second), Bytes(frame.begin(), frame.end()));
  return Status::ok_status();
}

void NodeImpl::hangup(const PeerId& peer) {
  auto it = by_peer_.find(peer);
  if (it == by_peer_.end()) return;
  close_link(it->second, true, now_ms_);
}

void NodeImpl::hangup_address(const Address& address) {
  auto it = links_.find(address);
  if (it == links_.end()) return;
  // Keep a link that is an active neighbor's: membership would notice its failure itself.
  if (it->second.established && membership_.is_active(it->second.peer)) return;
  close_link(address, true, now_ms_);
}

void NodeImpl::connect(const Address& address, bool initiator, std::uint64_t now_ms) {
  now_ms_ = now_ms;
  auto it = links_.find(address);
  if (it != links_.end() && it->second.secure) close_link(address, false, now_ms);  // a new transport replaces the old
  if (links_.count(address) == 0 && links_.size() >= config_.limits.links_max) {
    Event hang;
    hang.type = EventType::kHangup;
    hang.address = address;
    emit(std::move(hang));
    return;
  }
  Link& link = links_[address];
  link.address = address;
  link.dialing = false;
  link.created_ms = now_ms;
  links_deadline_ms_ = std::min(links_deadline_ms_, now_ms + config_.timers.handshake_timeout_ms);
  link.active_ms = now_ms;
  link.secure = initiator ? crypto::SecureLink::initiator(identity_, fresh_seed())
                          : crypto::SecureLink::responder(identity_, fresh_seed());
  drain_link(link, now_ms);
}

void NodeImpl::disconnect(const Address& address, std::uint64_t now_ms) {
  now_ms_ = now_ms;
  close_link(address, false, now_ms);
}

Status NodeImpl::handle(const Address& address, std::span<const std::uint8_t> bytes, std::uint64_t now_ms) {
  now_ms_ = now_ms;
  stats_.frames_in++;
  stats_.bytes_in += bytes.size();
  if (bytes.size() > config_.limits.frame_bytes_max) {
    stats_.decode_errors++;
    return decode_error("frame exceeds frame_bytes_max");
  }
  auto it = links_.find(address);
  if (it == links_.end() || !it->second.secure) {
    return failed_precondition("no transport connected for this address");
  }
  Link& link = it->second;
  constexpr std::uint8_t kTransportFrame = 0x04;  // crypto/link.h transport frame type
  if (!link.established && !bytes.empty() && bytes[0] == kTransportFrame &&
      link.secure->state() == crypto::LinkState::kHandshaking) {
    // The network reordered it ahead of the handshake's last message: replay it once established.
    if (link.early.empty()) {
      link.early_since_ms = now_ms;
      links_deadline_ms_ = std::min(links_deadline_ms_, now_ms + kEarlyWaitMs);
    }
    if (link.early.size() < kEarlyFramesMax) link.early.emplace_back(bytes.begin(), bytes.end());
    return Status::ok_status();
  }
  Status s = link.secure->handle(bytes);
  if (!s.ok()) {
    if (s.code() == Code::kUnauthenticated) stats_.auth_failures++;
    if (s.code() == Code::kDecodeError) stats_.decode_errors++;
  }
  drain_link(link, now_ms);
  return s;
}

void NodeImpl::drain_link(Link& link, std::uint64_t now_ms) {
  const Address address = link.address;  // `link` may be closed below
  while (auto frame = link.secure->poll_transmit()) push_transmit(address, std::move(*frame));
  while (true) {
    auto lit = links_.find(address);
    if (lit == links_.end() || !lit->second.secure) return;
    auto ev = lit->second.secure->poll_event();
    if (!ev) return;
    switch (ev->kind) {
      case crypto::LinkEvent::Kind::kEstablished: on_established(lit->second, ev->peer, now_ms); break;
      case crypto::LinkEvent::Kind::kFailed:
        stats_.handshakes_failed++;
        close_link(address, true, now_ms);
        return;
      case crypto::LinkEvent::Kind::kMessage: (void)on_plaintext(lit->second, ev->message, now_ms); break;
    }
  }
}

void NodeImpl::on_established(Link& link, const PeerId& peer, std::uint64_t now_ms) {
  stats_.handshakes_ok++;
  if (peer == id()) {
    close_link(link.address, true, now_ms);
    return;
  }
  if (refused(peer, now_ms)) {
    close_link(link.address, true, now_ms);
    return;
  }
  link.established = true;
  link.peer = peer;
  link.active_ms = now_ms;
  link.rekeyed_ms = now_ms;
  links_deadline_ms_ = std::min(links_deadline_ms_, now_ms + config_.timers.link_rekey_ms);
  auto other = by_peer_.find(peer);
  if (other != by_peer_.end() && other->second != link.address) {
    // Both ends keep the link dialed by the smaller PeerId (the newer one if the same side dialed
    // both). The loser closes silently: the peer itself stays up.
    Link& old = links_.at(other->second);
    const PeerId& new_dialer = link.secure->is_initiator() ? id() : peer;
    const PeerId& old_dialer = old.secure->is_initiator() ? id() : peer;
    const bool keep_new = !(old_dialer < new_dialer);
    Link& loser = keep_new ? old : link;
    Link& winner = keep_new ? link : old;
    for (auto& f : loser.pending) winner.pending.push_back(std::move(f));
    loser.pending.clear();
    if (!keep_new) {
      std::deque<Bytes> moved = std::move(old.pending);
      old.pending.clear();
      for (auto& f : moved) send_plain(old, std::move(f));
      close_link(link.address, true, now_ms);
      return;
    }
    by_peer_[peer] = link.address;
    close_link(old.address, true, now_ms);
    for (auto& f : link.pending) send_plain(link, std::move(f));
    link.pending.clear();
    return;
  }
  by_peer_[peer] = link.address;
  gossip::Msg hello;
  hello.kind = gossip::Kind::kHello;
  hello.name = config_.listen_address;
  std::deque<Bytes> pending = std::move(link.pending);
  link.pending.clear();
  send_plain(link, gossip::encode(hello));
  for (auto& f : pending) send_plain(link, std::move(f));
  std::deque<Bytes> early = std::move(link.early);
  link.early.clear();
  for (auto& f : early) {
    if (link.secure->handle(f).ok()) link.active_ms = now_ms;
  }
  Event up;
  up.type = EventType::kPeerUp;
  up.peer = peer;
  up.address = link.address;
  emit(std::move(up));
  for (auto& [channel, slot] : protocols_) slot->protocol().on_peer_up(peer, now_ms);
}

void NodeImpl::close_link(Address address, bool hangup, std::uint64_t now_ms) {
  auto it = links_.find(address);
  if (it == links_.end()) return;
  Link link = std::move(it->second);
  links_.erase(it);
  membership_.on_transport_closed(address, now_ms);
  if (hangup) {
    Event hang;
    hang.type = EventType::kHangup;
    hang.address = address;
    emit(std::move(hang));
  }
  if (!link.established) {
    membership_.on_dial_failed(address, now_ms);
    return;
  }
  auto bp = by_peer_.find(link.peer);
  if (bp == by_peer_.end() || bp->second != address) return;
  by_peer_.erase(bp);
  Event down;
  down.type = EventType::kPeerDown;
  down.peer = link.peer;
  down.address = address;
  emit(std::move(down));
  membership_.on_link_down(link.peer, now_ms);
  for (auto& [channel, slot] : protocols_) slot->protocol().on_peer_down(link.peer, now_ms);
}

// `peer` by value: the caller's may live in the link that hangup() frees.
void NodeImpl::strike(PeerId peer, std::uint64_t now_ms) {
  stats_.strikes++;
  if (strikes_.count(peer) == 0 && strikes_.size() >= kStrikeRecordsMax) strikes_.erase(strikes_.begin());
  if (++strikes_[peer] < kStrikesMax) return;
  strikes_.erase(peer);
  if (refused_.count(peer) == 0 && refused_.size() >= kStrikeRecordsMax) {
    refused_.erase(std::min_element(refused_.begin(), refused_.end(),
                                    [](const auto& a, const auto& b) { return a.second < b.second; }));
  }
  refused_[peer] = now_ms + kRefuseMs;
  stats_.peers_refused++;
  hangup(peer);
  membership_.forget(peer, now_ms);
}

bool NodeImpl::refused(const PeerId& peer, std::uint64_t now_ms) const {
  auto it = refused_.find(peer);
  return it != refused_.end() && it->second > now_ms;
}

// Time-based rekeying: the sending direction moves to a fresh key every link_rekey_ms (the link
// itself also does so every 2^rekey_shift messages); the peer follows from the frame counter.
// Returns the link's next rekey deadline.
std::uint64_t NodeImpl::rekey_if_due(Link& link, std::uint64_t now_ms) {
  if (now_ms >= link.rekeyed_ms + config_.timers.link_rekey_ms) {
    if (link.secure->rekey().ok()) stats_.rekeys++;
    link.rekeyed_ms = now_ms;
  }
  return link.rekeyed_ms + config_.timers.link_rekey_ms;
}

void NodeImpl::tick_links(std::uint64_t now_ms) {
  if (now_ms < links_deadline_ms_) return;
  links_deadline_ms_ = UINT64_MAX;
  std::vector<Address> expired;
  for (auto& [address, link] : links_) {
    std::uint64_t deadline = UINT64_MAX;
    if (!link.established) {
      deadline = link.created_ms + config_.timers.handshake_timeout_ms;
      if (!link.early.empty()) deadline = std::min(deadline, link.early_since_ms + kEarlyWaitMs);
    } else if (!membership_.is_active(link.peer)) {
      deadline = link.active_ms + config_.timers.link_idle_ms;
    }
    if (deadline <= now_ms) {
      expired.push_back(address);
      continue;
    }
    links_deadline_ms_ = std::min(links_deadline_ms_, deadline);
    if (link.established) links_deadline_ms_ = std::min(links_deadline_ms_, rekey_if_due(link, now_ms));
  }
  for (const auto& address : expired) close_link(address, true, now_ms);
}

}  // namespace nitro
