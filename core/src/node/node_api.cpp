// The public nitro::Node (a thin wrapper over NodeImpl), ProtocolSlot, and persisted state.
//
// Durable records (written ahead through poll_store(), handed back to Node::restore(config, records)):
//   "node/identity"     the 32-byte identity seed, written once by a new node
//   "node/seq/<topic>"  u64 LE: the highest publish sequence number reserved on that topic. A block
//                       of kSeqBlock numbers is reserved before the first of them is sent, so a node
//                       killed at any instant restarts above every number it ever used: its new
//                       messages are fresh to every peer, its old ones keep their ids (no redelivery).
//   "node/peers"        msgpack [[id bin32, address]...], the active and passive views (rate-limited),
//                       so a restarted node rejoins where it was
// Legacy snapshot (save_state / restore(bytes)), also accepted as the record "node/state": msgpack map
//   {"v": 1, "seed": bin32 identity seed, "seqs": [[topic, last seq]...], "peers": [[id bin32, address]...]}
#include <sodium.h>

#include "node/node_impl.h"
#include "nitro/codec.h"

namespace nitro {

// ---- ProtocolSlot ----------------------------------------------------------------------------

const PeerId& ProtocolSlot::local_id() const { return node_.id(); }
Status ProtocolSlot::send(const PeerId& peer, std::span<const std::uint8_t> bytes) {
  return node_.send_channel(peer, channel_, bytes, node_.now_ms());
}
Result<std::uint64_t> ProtocolSlot::publish(const std::string& topic, std::span<const std::uint8_t> payload) {
  return node_.publish(topic, payload, node_.now_ms());
}
Status ProtocolSlot::subscribe(const std::string& topic) {
  if (topic.empty() || topic.size() > node_.config().limits.topic_bytes_max) return invalid_argument("bad topic");
  if (topics_.size() >= node_.config().limits.topics_max) return resource_exhausted("too many topics");
  topics_.insert(topic);
  return Status::ok_status();
}
Status ProtocolSlot::unsubscribe(const std::string& topic) {
  return topics_.erase(topic) ? Status::ok_status() : not_found("not subscribed");
}
std::vector<PeerInfo> ProtocolSlot::peers() const { return node_.peers(); }
bool ProtocolSlot::knows_route(const PeerId& peer) const { return node_.knows_route(peer); }
std::vector<PeerId> ProtocolSlot::neighbors() const { return node_.neighbors(); }
void ProtocolSlot::emit(Bytes payload) {
  Event e;
  e.type = EventType::kProtocol;
  e.topic = channel_;
  e.payload = std::move(payload);
  node_.emit(std::move(e));
}
void ProtocolSlot::random_bytes(std::span<std::uint8_t> out) { node_.random_bytes(out); }
std::uint64_t ProtocolSlot::now_ms() const { return node_.now_ms(); }
void ProtocolSlot::store_put(const std::string& key, Bytes value) {
  node_.push_store(StoreOp{channel_ + "/" + key, std::move(value)});
}
void ProtocolSlot::store_delete(const std::string& key) {
  node_.push_store(StoreOp{channel_ + "/" + key, std::nullopt});
}
StoredRecords ProtocolSlot::take_restored() { return node_.take_restored(channel_); }
Status ProtocolSlot::authorize(const PeerId& peer, std::string_view op, std::string_view resource) {
  return node_.authorize(peer, op, resource);
}
Status ProtocolSlot::authorize_with(const PeerId& peer, std::string_view op, std::string_view resource,
                                    std::string_view token_ref) {
  return node_.authorize_with(peer, op, resource, token_ref);
}
void ProtocolSlot::committed_revocation(std::span<const std::uint8_t> record) { node_.committed_revocation(record); }

StoredRecords NodeImpl::take_restored(const std::string& channel) {
  const std::string prefix = channel + "/";
  StoredRecords out;
  auto it = restored_.lower_bound(prefix);
  while (it != restored_.end() && it->first.compare(0, prefix.size(), prefix) == 0) {
    out.emplace(it->first.substr(prefix.size()), std::move(it->second));
    it = restored_.erase(it);
  }
  return out;
}

std::optional<StoreOp> NodeImpl::poll_store() {
  if (store_ops_.empty()) return std::nullopt;
  StoreOp op = std::move(store_ops_.front());
  store_ops_.pop_front();
  return op;
}

// ---- persisted state -------------------------------------------------------------------------

namespace {

constexpr char kSeqPrefix[] = "node/seq/";

Bytes u64_le(std::uint64_t v) {
  Bytes out(8);
  for (int i = 0; i < 8; ++i) out[i] = static_cast<std::uint8_t>(v >> (8 * i));
  return out;
}

std::optional<std::uint64_t> read_u64_le(const Bytes& b) {
  if (b.size() != 8) return std::nullopt;
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(b[i]) << (8 * i);
  return v;
}

}  // namespace

Value NodeImpl::views_value() const {
  Array peers;
  auto add = [&peers](const PeerId& id, const Address& address) {
    if (address.empty()) return;
    peers.push_back(Value{Array{Value{Bytes(id.bytes().begin(), id.bytes().end())}, Value{address}}});
  };
  for (const auto& info : this->peers()) {
    if (info.neighbor) add(info.peer, info.listen_address);
  }
  for (const auto& ref : membership_.passive()) add(ref.id, ref.address);
  return Value{std::move(peers)};
}

Status NodeImpl::restore_views(const Value& peers) {
  if (!peers.is<Array>()) return decode_error("node state: peers is not an array");
  for (const auto& item : peers.as<Array>()) {
    if (!item.is<Array>() || item.as<Array>().size() != 2) return decode_error("node state: bad peer entry");
    const auto& a = item.as<Array>();
    if (!a[0].is<Bytes>() || !a[1].is<std::string>()) return decode_error("node state: bad peer entry");
    auto id = PeerId::from_bytes(a[0].as<Bytes>());
    if (!id.ok()) return decode_error("node state: bad peer id");
    if (*id == identity_.peer_id()) continue;
    membership_.add_passive(gossip::PeerRef{*id, a[1].as<std::string>()});
  }
  return Status::ok_status();
}

void NodeImpl::write_identity() { push_store(StoreOp{"node/identity", identity_.export_seed()}); }

void NodeImpl::reserve_seq(const std::string& topic, std::uint64_t seq) {
  std::uint64_t& reserved = seq_reserved_[topic];
  if (seq <= reserved) return;
  reserved = seq + kSeqBlock - 1;
  push_store(StoreOp{kSeqPrefix + topic, u64_le(reserved)});
}

void NodeImpl::write_peers_if_due(std::uint64_t now_ms) {
  if (!peers_dirty_ || now_ms < peers_written_ms_ + kPeersWriteIntervalMs) return;
  peers_dirty_ = false;
  peers_written_ms_ = now_ms;
  push_store(StoreOp{"node/peers", codec::encode(views_value())});
}

Status NodeImpl::restore_records(const StoredRecords& records) {
  const std::string prefix = kSeqPrefix;
  for (auto it = records.lower_bound(prefix); it != records.end() && it->first.rfind(prefix, 0) == 0; ++it) {
    auto reserved = read_u64_le(it->second);
    if (!reserved) return decode_error("node records: bad " + it->first);
    const std::string topic = it->first.substr(prefix.size());
    if (topic.empty() || topic.size() > config_.limits.topic_bytes_max) return decode_error("node records: bad seq topic");
    // Everything up to the reservation may have been sent: resume above it.
    publish_seq_[topic] = std::max(publish_seq_[topic], *reserved);
    seq_reserved_[topic] = std::max(seq_reserved_[topic], *reserved);
  }
  auto peers = records.find("node/peers");
  if (peers != records.end()) {
    auto v = codec::decode(peers->second);
    if (!v.ok()) return v.status();
    NITRO_TRY(restore_views(*v));
  }
  return Status::ok_status();
}

Bytes NodeImpl::save_state() const {
  const Bytes seed = identity_.export_seed();
  Array seqs;
  for (const auto& [topic, seq] : publish_seq_) seqs.push_back(Value{Array{Value{topic}, Value{seq}}});
  Map m{{Value{"v"}, Value{1}}, {Value{"seed"}, Value{seed}}, {Value{"seqs"}, Value{std::move(seqs)}},
        {Value{"peers"}, views_value()}};
  return codec::encode(Value{std::move(m)});
}

Status NodeImpl::restore_state(std::span<const std::uint8_t> state) {
  auto v = codec::decode(state);
  if (!v.ok()) return v.status();
  const Value* seqs = v->find("seqs");
  const Value* peers = v->find("peers");
  if (!seqs || !peers || !seqs->is<Array>() || !peers->is<Array>()) return decode_error("node state: missing fields");
  for (const auto& item : seqs->as<Array>()) {
    if (!item.is<Array>() || item.as<Array>().size() != 2) return decode_error("node state: bad seq entry");
    const auto& a = item.as<Array>();
    // The codec keeps numbers above INT64_MAX as uint64 (a record may reserve that high).
    const bool small = a[1].is<std::int64_t>() && a[1].as<std::int64_t>() >= 0;
    if (!a[0].is<std::string>() || !(small || a[1].is<std::uint64_t>())) {
      return decode_error("node state: bad seq entry");
    }
    publish_seq_[a[0].as<std::string>()] =
        small ? static_cast<std::uint64_t>(a[1].as<std::int64_t>()) : a[1].as<std::uint64_t>();
  }
  return restore_views(*peers);
}

// ---- Node ------------------------------------------------------------------------------------

Node::Node(const NodeConfig& config)
    : impl_(std::make_unique<NodeImpl>(config, crypto::Identity::from_seed(config.identity_seed))) {
  impl_->write_identity();  // so a restart from records keeps this PeerId
}

Result<std::unique_ptr<Node>> Node::restore(const NodeConfig& config, std::span<const std::uint8_t> state) {
  auto v = codec::decode(state);
  if (!v.ok()) return v.status();
  const Value* version = v->find("v");
  const Value* seed = v->find("seed");
  if (!version || !version->is<std::int64_t>() || version->as<std::int64_t>() != 1) {
    return Status(decode_error("node state: unknown version"));
  }
  if (!seed || !seed->is<Bytes>()) return Status(decode_error("node state: missing seed"));
  auto identity = crypto::Identity::import_seed(seed->as<Bytes>());
  if (!identity.ok()) return Status(decode_error("node state: bad seed"));
  std::unique_ptr<Node> node(new Node());
  node->impl_ = std::make_unique<NodeImpl>(config, *identity);
  Status s = node->impl_->restore_state(state);
  if (!s.ok()) return s;
  return node;
}

namespace {

bool all_zero(const crypto::Seed& seed) {
  for (auto b : seed) {
    if (b != 0) return false;
  }
  return true;
}

}  // namespace

Result<std::unique_ptr<Node>> Node::restore(const NodeConfig& config, StoredRecords records) {
  NITRO_TRY(validate(config));
  std::unique_ptr<Node> node;
  auto state = records.find("node/state");
  auto seed = records.find("node/identity");
  if (state != records.end()) {  // a legacy snapshot: identity, seqs and views in one record
    auto restored = restore(config, state->second);
    if (!restored.ok()) return restored.status();
    node = std::move(*restored);
  } else if (seed != records.end()) {
    auto identity = crypto::Identity::import_seed(seed->second);
    if (!identity.ok()) return Status(decode_error("node records: bad node/identity"));
    node.reset(new Node());
    node->impl_ = std::make_unique<NodeImpl>(config, *identity);
  } else {
    return Status(not_found("node records: no node/identity record"));
  }
  // An explicit identity must match the stored one: records of another node are not ours to use.
  if (!all_zero(config.identity_seed) && crypto::Identity::from_seed(config.identity_seed).peer_id() != node->id()) {
    return Status(Code::kFailedPrecondition, "node records belong to another identity");
  }
  NITRO_TRY(node->impl_->restore_records(records));
  for (auto it = records.begin(); it != records.end();) {
    it = it->first.rfind("node/", 0) == 0 ? records.erase(it) : std::next(it);
  }
  node->impl_->set_restored(std::move(records));
  return node;
}

Node::~Node() = default;
const PeerId& Node::id() const { return impl_->id(); }
const NodeConfig& Node::config() const { return impl_->config(); }
void Node::start(std::uint64_t now_ms) { impl_->start(now_ms); }
void Node::join(const Address& contact, std::uint64_t now_ms) { impl_->join(contact, now_ms); }
void Node::connect(const Address& address, bool initiator, std::uint64_t now_ms) {
  impl_->connect(address, initiator, now_ms);
}
void Node::disconnect(const Address& address, std::uint64_t now_ms) { impl_->disconnect(address, now_ms); }
Status Node::handle(const Address& address, std::span<const std::uint8_t> bytes, std::uint64_t now_ms) {
  return impl_->handle(address, bytes, now_ms);
}
void Node::tick(std::uint64_t now_ms) { impl_->tick(now_ms); }
std::optional<Transmit> Node::poll_transmit() { return impl_->poll_transmit(); }
std::optional<Event> Node::poll_event() { return impl_->poll_event(); }
std::optional<StoreOp> Node::poll_store() { return impl_->poll_store(); }
std::optional<std::uint64_t> Node::next_deadline() const { return impl_->next_deadline(); }
Status Node::subscribe(const std::string& topic) { return impl_->subscribe(topic); }
Status Node::unsubscribe(const std::string& topic) { return impl_->unsubscribe(topic); }
Status Node::subscribe(const std::string& pattern, const std::string& queue) { return impl_->subscribe(pattern, queue); }
Status Node::unsubscribe(const std::string& pattern, const std::string& queue) { return impl_->unsubscribe(pattern, queue); }
std::vector<PeerId> Node::queue_members(const std::string& pattern, const std::string& queue) const {
  return impl_->queue_members(pattern, queue);
}
Result<std::uint64_t> Node::publish(const std::string& topic, std::span<const std::uint8_t> payload,
                                    std::uint64_t now_ms) {
  return impl_->publish(topic, payload, now_ms);
}
Status Node::send(const PeerId& peer, const std::string& channel, std::span<const std::uint8_t> bytes,
                  std::uint64_t now_ms) {
  return impl_->send_channel(peer, channel, bytes, now_ms);
}
Status Node::add_protocol(const std::string& channel, std::unique_ptr<Protocol> protocol) {
  return impl_->add_protocol(channel, std::move(protocol));
}
Status Node::inject_frame(const PeerId& peer, std::span<const std::uint8_t> frame) {
  return impl_->inject_frame(peer, frame);
}
Protocol* Node::protocol(const std::string& channel) const { return impl_->protocol(channel); }
std::vector<PeerInfo> Node::peers() const { return impl_->peers(); }
std::vector<PeerId> Node::neighbors() const { return impl_->neighbors(); }
std::vector<PeerId> Node::passive_view() const { return impl_->passive_view(); }
bool Node::refuses(const PeerId& peer) const { return impl_->refused(peer, impl_->now_ms()); }
const NodeStats& Node::stats() const { return impl_->stats_view(); }
Status Node::authorize(const PeerId& peer, std::string_view op, std::string_view resource) {
  return impl_->authorize(peer, op, resource);
}
Status Node::authorize_with(const PeerId& peer, std::string_view op, std::string_view resource, std::string_view token_ref) {
  return impl_->authorize_with(peer, op, resource, token_ref);
}
Bytes Node::save_state() const { return impl_->save_state(); }

}  // namespace nitro
