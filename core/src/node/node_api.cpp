// The public nitro::Node (a thin wrapper over NodeImpl), ProtocolSlot, and persisted state.
//
// Persisted state (save_state / restore): msgpack map
//   {"v": 1, "seed": bin32 identity seed, "seqs": [[topic, last seq]...], "peers": [[id bin32, address]...]}
// "peers" holds the active and passive views, so a restarted node rejoins where it was.
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

Bytes NodeImpl::save_state() const {
  const Bytes seed = identity_.export_seed();
  Array seqs;
  for (const auto& [topic, seq] : publish_seq_) seqs.push_back(Value{Array{Value{topic}, Value{seq}}});
  Array peers;
  auto add = [&peers](const PeerId& id, const Address& address) {
    if (address.empty()) return;
    peers.push_back(Value{Array{Value{Bytes(id.bytes().begin(), id.bytes().end())}, Value{address}}});
  };
  for (const auto& info : this->peers()) {
    if (info.neighbor) add(info.peer, info.listen_address);
  }
  for (const auto& ref : membership_.passive()) add(ref.id, ref.address);
  Map m{{Value{"v"}, Value{1}}, {Value{"seed"}, Value{seed}}, {Value{"seqs"}, Value{std::move(seqs)}},
        {Value{"peers"}, Value{std::move(peers)}}};
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
    if (!a[0].is<std::string>() || !a[1].is<std::int64_t>() || a[1].as<std::int64_t>() < 0) {
      return decode_error("node state: bad seq entry");
    }
    publish_seq_[a[0].as<std::string>()] = static_cast<std::uint64_t>(a[1].as<std::int64_t>());
  }
  for (const auto& item : peers->as<Array>()) {
    if (!item.is<Array>() || item.as<Array>().size() != 2) return decode_error("node state: bad peer entry");
    const auto& a = item.as<Array>();
    if (!a[0].is<Bytes>() || !a[1].is<std::string>()) return decode_error("node state: bad peer entry");
    auto id = PeerId::from_bytes(a[0].as<Bytes>());
    if (!id.ok()) return decode_error("node state: bad peer id");
    membership_.add_passive(gossip::PeerRef{*id, a[1].as<std::string>()});
  }
  return Status::ok_status();
}

// ---- Node ------------------------------------------------------------------------------------

Node::Node(const NodeConfig& config)
    : impl_(std::make_unique<NodeImpl>(config, crypto::Identity::from_seed(config.identity_seed))) {}

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

Result<std::unique_ptr<Node>> Node::restore(const NodeConfig& config, StoredRecords records) {
  auto state = records.find("node/state");
  if (state == records.end()) return Status(not_found("node state: no node/state record"));
  auto node = restore(config, state->second);
  if (!node.ok()) return node.status();
  records.erase(state);
  (*node)->impl_->set_restored(std::move(records));
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
Protocol* Node::protocol(const std::string& channel) const { return impl_->protocol(channel); }
std::vector<PeerInfo> Node::peers() const { return impl_->peers(); }
std::vector<PeerId> Node::neighbors() const { return impl_->neighbors(); }
std::vector<PeerId> Node::passive_view() const { return impl_->passive_view(); }
const NodeStats& Node::stats() const { return impl_->stats_view(); }
Bytes Node::save_state() const { return impl_->save_state(); }

}  // namespace nitro
