// NodeImpl: frame dispatch, timers, pub/sub and protocol plumbing; and the public Node wrapper.
#include "nitro/node.h"

#include <algorithm>

#include <sodium.h>

#include "node/node_impl.h"
#include "nitro/auth.h"
#include "nitro/codec.h"

namespace nitro {
namespace {

std::uint64_t rng_seed_from(const crypto::Seed& entropy) {
  std::uint8_t out[8];
  static const char kTag[] = "nitro-node-rng";
  crypto_generichash(out, sizeof out, reinterpret_cast<const std::uint8_t*>(kTag), sizeof kTag - 1,
                     entropy.data(), entropy.size());
  std::uint64_t s = 0;
  for (int i = 0; i < 8; ++i) s |= static_cast<std::uint64_t>(out[i]) << (8 * i);
  return s;
}

bool is_membership(gossip::Kind k) { return static_cast<int>(k) < static_cast<int>(gossip::Kind::kGossip); }

constexpr std::size_t kChannelBytesMax = 32;

}  // namespace

NodeImpl::NodeImpl(const NodeConfig& config, const crypto::Identity& identity)
    : config_(config),
      identity_(identity),
      rng_(rng_seed_from(config.entropy)),
      membership_(gossip::PeerRef{identity.peer_id(), config.listen_address}, config_, *this),
      broadcast_(identity.peer_id(), config_, *this),
      subscriptions_(identity.peer_id(), config.limits.topics_max, pubsub::kAnnounceMsDefault,
                     pubsub::kMemberTimeoutMsDefault) {}

void NodeImpl::start(std::uint64_t now_ms) {
  now_ms_ = now_ms;
  membership_.start(now_ms);
}

void NodeImpl::join(const Address& contact, std::uint64_t now_ms) {
  now_ms_ = now_ms;
  membership_.join(contact, false, now_ms);
}

Status NodeImpl::on_plaintext(Link& link, std::span<const std::uint8_t> bytes, std::uint64_t now_ms) {
  gossip::WireLimits limits;
  limits.frame_bytes_max = config_.limits.frame_bytes_max;
  auto msg = gossip::decode(bytes, limits);
  if (!msg.ok()) {
    stats_.decode_errors++;
    strike(link.peer, now_ms);
    return msg.status();
  }
  link.active_ms = now_ms;
  const bool carries_address = msg->kind == gossip::Kind::kHello || msg->kind == gossip::Kind::kJoin ||
                               msg->kind == gossip::Kind::kNeighbor || msg->kind == gossip::Kind::kNeighborReply ||
                               msg->kind == gossip::Kind::kPing;
  if (carries_address && !msg->name.empty()) link.listen_address = msg->name;
  const gossip::PeerRef from{link.peer, link.listen_address};
  dispatch(from, *msg, now_ms);
  return Status::ok_status();
}

void NodeImpl::dispatch(const gossip::PeerRef& from, gossip::Msg& msg, std::uint64_t now_ms) {
  membership_.heard(from, now_ms);
  if (msg.kind == gossip::Kind::kHello) return;
  if (is_membership(msg.kind)) {
    membership_.on_frame(from, msg, now_ms);
    return;
  }
  if (msg.kind != gossip::Kind::kDirect) {
    Status s = broadcast_.on_frame(from.id, msg, now_ms);
    if (s.code() == Code::kDecodeError) stats_.decode_errors++;
    if (!s.ok()) strike(from.id, now_ms);
    return;
  }
  auto it = protocols_.find(msg.name);
  if (it != protocols_.end()) {
    it->second->protocol().on_message(from.id, msg.body, now_ms);
    return;
  }
  Event e;
  e.type = EventType::kDirect;
  e.peer = from.id;
  e.topic = std::move(msg.name);
  e.payload = std::move(msg.body);
  emit(std::move(e));
}

void NodeImpl::tick(std::uint64_t now_ms) {
  now_ms_ = now_ms;
  membership_.tick(now_ms);
  broadcast_.tick(now_ms);
  tick_links(now_ms);
  for (auto& [channel, slot] : protocols_) slot->protocol().tick(now_ms);
  write_peers_if_due(now_ms);
  announce_queues(now_ms);
}

// Queue group membership rides on gossip like any message; a refused publish (backpressure) is
// retried with the next periodic announcement.
void NodeImpl::announce_queues(std::uint64_t now_ms) {
  auto payload = subscriptions_.take_announcement(now_ms);
  if (payload) (void)publish(pubsub::kQueueTopic, *payload, now_ms);
}

std::optional<std::uint64_t> NodeImpl::next_deadline() const {
  std::optional<std::uint64_t> t;
  auto take = [&t](std::optional<std::uint64_t> v) {
    if (v) t = t ? std::min(*t, *v) : *v;
  };
  take(membership_.next_deadline());
  take(broadcast_.next_deadline());
  if (links_deadline_ms_ != UINT64_MAX) take(links_deadline_ms_);
  if (peers_dirty_) take(peers_written_ms_ + kPeersWriteIntervalMs);
  for (const auto& [channel, slot] : protocols_) take(slot->protocol().next_deadline());
  take(subscriptions_.next_deadline());
  return t;
}

std::optional<Transmit> NodeImpl::poll_transmit() {
  if (transmits_.empty()) return std::nullopt;
  Transmit t = std::move(transmits_.front());
  transmits_.pop_front();
  return t;
}

std::optional<Event> NodeImpl::poll_event() {
  if (events_.empty()) return std::nullopt;
  Event e = std::move(events_.front());
  events_.pop_front();
  return e;
}

void NodeImpl::neighbor_up(const PeerId& peer, std::uint64_t now_ms) {
  peers_dirty_ = true;
  broadcast_.neighbor_up(peer, now_ms);
  Event e;
  e.type = EventType::kNeighborUp;
  e.peer = peer;
  auto it = by_peer_.find(peer);
  if (it != by_peer_.end()) e.address = it->second;
  emit(std::move(e));
}

void NodeImpl::neighbor_down(const PeerId& peer, std::uint64_t now_ms) {
  links_deadline_ms_ = std::min(links_deadline_ms_, now_ms + config_.timers.link_idle_ms);  // may idle out now
  peers_dirty_ = true;
  broadcast_.neighbor_down(peer);
  Event e;
  e.type = EventType::kNeighborDown;
  e.peer = peer;
  emit(std::move(e));
}

void NodeImpl::deliver(const crypto::Envelope& env, const PeerId& from, std::uint32_t hops, std::uint64_t now_ms) {
  for (auto& [channel, slot] : protocols_) {
    if (slot->topics().count(env.topic) != 0) {
      slot->protocol().on_broadcast(env.topic, env.origin, env.seq, env.payload, now_ms);
    }
  }
  if (env.topic == pubsub::kQueueTopic) {
    auto may_join = [&](const pubsub::Key& group) { return authorize(env.origin, "subscribe", group.first).ok(); };
    (void)subscriptions_.on_announce(env.origin, env.payload, now_ms, may_join);  // malformed: ignored
    return;
  }
  // A user's `>` hears the application's topics, not the protocols' traffic under it.
  for (auto& [pattern, queue] : subscriptions_.route(env.topic, env.origin, env.seq, now_ms, user_topic(env.topic))) {
    Event e;
    e.type = EventType::kMessage;
    e.peer = from;
    e.topic = env.topic;
    e.origin = env.origin;
    e.seq = env.seq;
    e.hops = hops;
    e.payload = env.payload;
    e.pattern = std::move(pattern);
    e.queue = std::move(queue);
    emit(std::move(e));
  }
}

Status NodeImpl::check_topic(const std::string& topic) const {
  if (topic.empty() || topic.size() > config_.limits.topic_bytes_max) return invalid_argument("topic must be 1..topic_bytes_max bytes");
  return Status::ok_status();
}

Status NodeImpl::subscribe(const std::string& topic) { return subscribe(topic, ""); }

Status NodeImpl::unsubscribe(const std::string& topic) { return unsubscribe(topic, ""); }

Status NodeImpl::subscribe(const std::string& pattern, const std::string& queue) {
  NITRO_TRY(check_topic(pattern));
  NITRO_TRY(subscriptions_.add(pattern, queue));
  if (!pubsub::is_wildcard_pattern(pattern)) broadcast_.add_topic(pattern);
  if (!queue.empty()) broadcast_.add_topic(pubsub::kQueueTopic);
  return Status::ok_status();
}

Status NodeImpl::unsubscribe(const std::string& pattern, const std::string& queue) {
  return subscriptions_.remove(pattern, queue);
}

Result<std::uint64_t> NodeImpl::publish(const std::string& topic, std::span<const std::uint8_t> payload,
                                        std::uint64_t now_ms) {
  now_ms_ = now_ms;
  NITRO_TRY(check_topic(topic));
  if (pubsub::is_wildcard_pattern(topic)) return Status(invalid_argument("publish to a topic without wildcard tokens ('*', '>')"));
  if (payload.size() > config_.limits.payload_bytes_max) return Status(invalid_argument("payload exceeds payload_bytes_max"));
  if (backpressured()) return Status(resource_exhausted("outbound queue above high-water mark"));
  if (publish_seq_.count(topic) == 0 && publish_seq_.size() >= 4 * config_.limits.topics_max) {
    return Status(resource_exhausted("too many publish topics"));
  }
  const std::uint64_t seq = publish_seq_[topic] + 1;
  crypto::EnvelopeLimits limits;
  limits.topic_bytes_max = config_.limits.topic_bytes_max;
  limits.payload_bytes_max = config_.limits.payload_bytes_max;
  auto env = crypto::Envelope::sign(identity_, seq, now_ms, topic, Bytes(payload.begin(), payload.end()), limits);
  if (!env.ok()) return env.status();
  reserve_seq(topic, seq);  // queued before the transmits that carry `seq`
  publish_seq_[topic] = seq;
  stats_.published++;
  broadcast_.originate(*env, now_ms);
  return seq;
}

bool NodeImpl::knows_route(const PeerId& peer) const {
  if (by_peer_.count(peer) != 0) return true;
  for (const auto& ref : membership_.passive()) {
    if (ref.id == peer && !ref.address.empty()) return true;
  }
  return false;
}

Status NodeImpl::send_channel(const PeerId& peer, const std::string& channel, std::span<const std::uint8_t> bytes,
                              std::uint64_t now_ms) {
  now_ms_ = now_ms;
  if (channel.empty() || channel.size() > kChannelBytesMax) return invalid_argument("channel must be 1..32 bytes");
  if (bytes.size() > config_.limits.payload_bytes_max) return invalid_argument("message exceeds payload_bytes_max");
  if (backpressured()) return resource_exhausted("outbound queue above high-water mark");
  gossip::Msg m;
  m.kind = gossip::Kind::kDirect;
  m.name = channel;
  m.body.assign(bytes.begin(), bytes.end());
  auto it = by_peer_.find(peer);
  if (it == by_peer_.end()) {
    Address address;
    for (const auto& ref : membership_.passive()) {
      if (ref.id == peer) address = ref.address;
    }
    if (address.empty()) return unavailable("no link to peer and no known address");
    send_address(address, m);
    return Status::ok_status();
  }
  send(gossip::PeerRef{peer, ""}, m);
  return Status::ok_status();
}

Status NodeImpl::add_protocol(const std::string& channel, std::unique_ptr<Protocol> protocol) {
  if (channel.empty() || channel.size() > kChannelBytesMax || channel.rfind("nitro.", 0) == 0) {
    return invalid_argument("channel must be 1..32 bytes and not start with 'nitro.'");
  }
  if (!protocol) return invalid_argument("null protocol");
  if (protocols_.count(channel) != 0) return Status(Code::kAlreadyExists, "channel taken: " + channel);
  auto slot = std::make_unique<ProtocolSlot>(*this, channel, std::move(protocol));
  ProtocolSlot& ref = *slot;
  protocols_.emplace(channel, std::move(slot));
  ref.protocol().attach(ref);
  return Status::ok_status();
}

auth::Decider* NodeImpl::access() const {
  auto it = protocols_.find(auth::kChannel);
  return it == protocols_.end() ? nullptr : dynamic_cast<auth::Decider*>(&it->second->protocol());
}

Status NodeImpl::authorize(const PeerId& peer, std::string_view op, std::string_view resource) {
  auth::Decider* a = access();
  return a ? a->authorize(peer, op, resource) : Status::ok_status();
}

Status NodeImpl::authorize_with(const PeerId& peer, std::string_view op, std::string_view resource,
                                std::string_view token_ref) {
  auth::Decider* a = access();
  if (!a) return Status::ok_status();
  return token_ref.empty() ? a->authorize(peer, op, resource) : a->authorize_with(peer, op, resource, token_ref);
}

void NodeImpl::committed_revocation(std::span<const std::uint8_t> record) {
  if (auth::Decider* a = access()) a->apply_committed(record);
}

// Pub/sub checks cover the application's topics; a protocol's own topics are checked by it.
bool NodeImpl::user_topic(const std::string& topic) const {
  if (auth::is_protocol_topic(topic)) return false;
  for (const auto& [channel, slot] : protocols_) {
    if (slot->topics().count(topic) != 0) return false;
  }
  return true;
}

// Relays and deliveries: a message whose origin may not publish on its topic goes no further.
bool NodeImpl::admit(const crypto::Envelope& env) {
  if (env.origin == id() || !user_topic(env.topic)) return true;
  return authorize(env.origin, "publish", env.topic).ok();
}

// A neighbor that may not subscribe to a topic is not sent its payloads.
bool NodeImpl::may_forward(const PeerId& to, const std::string& topic) {
  if (!user_topic(topic)) return true;
  return authorize(to, "subscribe", topic).ok();
}

Protocol* NodeImpl::protocol(const std::string& channel) const {
  auto it = protocols_.find(channel);
  return it == protocols_.end() ? nullptr : &it->second->protocol();
}

std::vector<PeerInfo> NodeImpl::peers() const {
  std::vector<PeerInfo> out;
  for (const auto& [peer, address] : by_peer_) {
    const Link& link = links_.at(address);
    out.push_back(PeerInfo{peer, address, link.listen_address, membership_.is_active(peer)});
  }
  return out;
}

std::vector<PeerId> NodeImpl::passive_view() const {
  std::vector<PeerId> out;
  for (const auto& ref : membership_.passive()) out.push_back(ref.id);
  return out;
}

}  // namespace nitro
