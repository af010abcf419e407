// NodeImpl: composes the secure link layer (crypto::SecureLink per transport address), the
// membership (HyParView + SWIM), the broadcast (Plumtree) and the attached protocols behind the
// public nitro::Node. See nitro/node.h for the contract.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "gossip/broadcast.h"
#include "gossip/membership.h"
#include "gossip/rng.h"
#include "gossip/wire.h"
#include "node/subscriptions.h"
#include "nitro/envelope.h"
#include "nitro/link.h"
#include "nitro/node.h"

namespace nitro::auth {
class Decider;
}

namespace nitro {

class NodeImpl;

// The ProtocolContext given to one attached protocol: everything bound to its channel.
class ProtocolSlot final : public ProtocolContext {
 public:
  ProtocolSlot(NodeImpl& node, std::string channel, std::unique_ptr<Protocol> protocol)
      : node_(node), channel_(std::move(channel)), protocol_(std::move(protocol)) {}
  const PeerId& local_id() const override;
  Status send(const PeerId& peer, std::span<const std::uint8_t> bytes) override;
  Result<std::uint64_t> publish(const std::string& topic, std::span<const std::uint8_t> payload) override;
  Status subscribe(const std::string& topic) override;
  Status unsubscribe(const std::string& topic) override;
  std::vector<PeerInfo> peers() const override;
  bool knows_route(const PeerId& peer) const override;
  std::vector<PeerId> neighbors() const override;
  void emit(Bytes payload) override;
  void random_bytes(std::span<std::uint8_t> out) override;
  std::uint64_t now_ms() const override;
  void store_put(const std::string& key, Bytes value) override;
  void store_delete(const std::string& key) override;
  StoredRecords take_restored() override;
  Status authorize(const PeerId& peer, std::string_view op, std::string_view resource) override;
  Status authorize_with(const PeerId& peer, std::string_view op, std::string_view resource,
                        std::string_view token_ref) override;
  void committed_revocation(std::span<const std::uint8_t> record) override;

  Protocol& protocol() { return *protocol_; }
  const std::set<std::string>& topics() const { return topics_; }

 private:
  NodeImpl& node_;
  std::string channel_;
  std::unique_ptr<Protocol> protocol_;
  std::set<std::string> topics_;
};

class NodeImpl final : public gossip::MembershipHost, public gossip::BroadcastHost {
 public:
  NodeImpl(const NodeConfig& config, const crypto::Identity& identity);

  // Public API (see nitro/node.h).
  void start(std::uint64_t now_ms);
  void join(const Address& contact, std::uint64_t now_ms);
  void connect(const Address& address, bool initiator, std::uint64_t now_ms);
  void disconnect(const Address& address, std::uint64_t now_ms);
  Status handle(const Address& address, std::span<const std::uint8_t> bytes, std::uint64_t now_ms);
  void tick(std::uint64_t now_ms);
  std::optional<Transmit> poll_transmit();
  std::optional<Event> poll_event();
  std::optional<StoreOp> poll_store();
  void push_store(StoreOp op) { store_ops_.push_back(std::move(op)); }
  StoredRecords take_restored(const std::string& channel);
  void set_restored(StoredRecords records) { restored_ = std::move(records); }
  std::optional<std::uint64_t> next_deadline() const;
  Status subscribe(const std::string& topic);
  Status unsubscribe(const std::string& topic);
  Status subscribe(const std::string& pattern, const std::string& queue);
  Status unsubscribe(const std::string& pattern, const std::string& queue);
  std::vector<PeerId> queue_members(const std::string& pattern, const std::string& queue) const {
    return subscriptions_.members({pattern, queue}, now_ms_);
  }
  Result<std::uint64_t> publish(const std::string& topic, std::span<const std::uint8_t> payload, std::uint64_t now_ms);
  Status send_channel(const PeerId& peer, const std::string& channel, std::span<const std::uint8_t> bytes,
                      std::uint64_t now_ms);
  Status add_protocol(const std::string& channel, std::unique_ptr<Protocol> protocol);
  Status inject_frame(const PeerId& peer, std::span<const std::uint8_t> frame);
  Protocol* protocol(const std::string& channel) const;
  Status authorize(const PeerId& peer, std::string_view op, std::string_view resource);
  Status authorize_with(const PeerId& peer, std::string_view op, std::string_view resource, std::string_view token_ref);
  void committed_revocation(std::span<const std::uint8_t> record);
  auth::Decider* access() const;  // the attached access protocol, if any
  std::vector<PeerInfo> peers() const;
  bool knows_route(const PeerId& peer) const;
  std::vector<PeerId> neighbors() const { return membership_.active(); }
  std::vector<PeerId> passive_view() const;
  bool refused(const PeerId& peer, std::uint64_t now_ms) const;
  Bytes save_state() const;
  Status restore_state(std::span<const std::uint8_t> state);
  // Durable records under "node/" (see node_api.cpp): written ahead through store_ops_.
  void write_identity();
  Status restore_records(const StoredRecords& records);

  const PeerId& id() const { return identity_.peer_id(); }
  const NodeConfig& config() const { return config_; }
  const NodeStats& stats_view() const { return stats_; }
  std::uint64_t now_ms() const { return now_ms_; }
  void emit(Event event);
  void random_bytes(std::span<std::uint8_t> out);
  bool backpressured() const { return transmits_.size() >= config_.limits.transmit_queue_high_water; }

  // MembershipHost / BroadcastHost.
  void send(const gossip::PeerRef& to, const gossip::Msg& msg) override;
  void send_address(const Address& address, const gossip::Msg& msg) override;
  void send(const PeerId& to, const gossip::Msg& msg) override;
  void hangup(const PeerId& peer) override;
  void hangup_address(const Address& address) override;
  void neighbor_up(const PeerId& peer, std::uint64_t now_ms) override;
  void neighbor_down(const PeerId& peer, std::uint64_t now_ms) override;
  void deliver(const crypto::Envelope& envelope, const PeerId& from, std::uint32_t hops,
               std::uint64_t now_ms) override;
  bool admit(const crypto::Envelope& envelope) override;
  bool may_forward(const PeerId& to, const std::string& topic) override;
  gossip::Rng& rng() override { return rng_; }
  NodeStats& stats() override { return stats_; }

 private:
  struct Link {
    Address address;
    bool dialing = false;  // kDial emitted, waiting for connect()
    std::optional<crypto::SecureLink> secure;
    bool established = false;
    PeerId peer;
    Address listen_address;
    std::uint64_t created_ms = 0;
    std::uint64_t active_ms = 0;  // last frame in or out
    std::uint64_t rekeyed_ms = 0; // established, or last moved to a fresh sending key
    std::deque<Bytes> pending;    // plaintext frames waiting for the handshake
    std::deque<Bytes> early;      // transport frames that overtook the last handshake frame
    std::uint64_t early_since_ms = 0;  // when the first of them came
  };

  Link& open_link(const Address& address);
  void send_plain(Link& link, Bytes plaintext);
  void drain_link(Link& link, std::uint64_t now_ms);
  void on_established(Link& link, const PeerId& peer, std::uint64_t now_ms);
  Status on_plaintext(Link& link, std::span<const std::uint8_t> bytes, std::uint64_t now_ms);
  void dispatch(const gossip::PeerRef& from, gossip::Msg& msg, std::uint64_t now_ms);
  void close_link(Address address, bool hangup, std::uint64_t now_ms);
  void strike(PeerId peer, std::uint64_t now_ms);
  void tick_links(std::uint64_t now_ms);
  std::uint64_t rekey_if_due(Link& link, std::uint64_t now_ms);
  void push_transmit(const Address& address, Bytes bytes);
  crypto::Seed fresh_seed();
  void reserve_seq(const std::string& topic, std::uint64_t seq);
  Value views_value() const;
  Status restore_views(const Value& peers);
  void write_peers_if_due(std::uint64_t now_ms);
  void announce_queues(std::uint64_t now_ms);
  Status check_topic(const std::string& topic) const;
  bool user_topic(const std::string& topic) const;

  static constexpr std::size_t kEarlyFramesMax = 16;
  // A transport frame means the dialer finished its handshake; if the last handshake frame has not
  // come this long after it, it was lost (not reordered): fail the link now, so the dialer redials,
  // instead of leaving it half open, its frames unread, until handshake_timeout_ms.
  static constexpr std::uint64_t kEarlyWaitMs = 1000;
  // An honest peer never sends a frame we cannot decode or an envelope whose signature fails (it
  // verifies before relaying), so each one is a strike; kStrikesMax allows for a version skew
  // while a flooder is cut off after a handful of frames. A refused peer's links are closed on
  // sight for kRefuseMs (long enough that redialing costs it more than it costs us). Both maps
  // are bounded: the oldest strike record / the earliest-expiring refusal makes room.
  static constexpr std::uint32_t kStrikesMax = 8;
  static constexpr std::uint64_t kRefuseMs = 10 * 60 * 1000;
  static constexpr std::size_t kStrikeRecordsMax = 64;
 public:
  // Sequence numbers are reserved this many at a time: one durable write per block of publishes.
  static constexpr std::uint64_t kSeqBlock = 1024;
  // The views are rewritten at most this often (they only speed up a rejoin).
  static constexpr std::uint64_t kPeersWriteIntervalMs = 1000;
 private:

  NodeConfig config_;
  crypto::Identity identity_;
  gossip::Rng rng_;
  std::uint64_t seed_counter_ = 0;
  gossip::Membership membership_;
  gossip::Broadcast broadcast_;
  std::map<Address, Link> links_;
  std::map<PeerId, Address> by_peer_;  // established links
  std::map<PeerId, std::uint32_t> strikes_;  // strikes per peer not yet refused
  std::map<PeerId, std::uint64_t> refused_;  // refused peer -> until (now_ms)
  std::deque<Transmit> transmits_;
  std::deque<Event> events_;
  std::deque<StoreOp> store_ops_;  // write-ahead: drained by the host before transmits
  StoredRecords restored_;         // records of protocols not attached yet (full keys)
  pubsub::Subscriptions subscriptions_;
  std::map<std::string, std::uint64_t> publish_seq_;
  // Highest sequence number per topic made durable ("node/seq/<topic>"): a restarted node resumes
  // above it, so none of its new messages reuses an id peers already hold.
  std::map<std::string, std::uint64_t> seq_reserved_;
  bool peers_dirty_ = false;        // the views changed since "node/peers" was last written
  std::uint64_t peers_written_ms_ = 0;
  std::map<std::string, std::unique_ptr<ProtocolSlot>> protocols_;
  NodeStats stats_;
  std::uint64_t now_ms_ = 0;
  // Earliest handshake-timeout / idle deadline over links_; may be early (then tick_links
  // rescans), never late. Keeps tick() and next_deadline() from walking every link each call.
  std::uint64_t links_deadline_ms_ = UINT64_MAX;
};

}  // namespace nitro
