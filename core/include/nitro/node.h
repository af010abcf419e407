// nitro::Node — the sans-IO peer: secure links, gossip membership (HyParView + SWIM-style probing),
// pub/sub (Plumtree eager/lazy push) and a plug-in seam for the other protocols (RPC, CRDT sync,
// the beacon, consensus).
//
// Contract (after quinn-proto / ngtcp2):
//   * Deterministic and sans-IO: no sockets, no clock reads, no threads, no global RNG. Time is the
//     `now_ms` argument (monotonic milliseconds, any epoch, never decreasing); entropy comes from
//     NodeConfig::entropy (32 random bytes in production, a seeded stream in simulation). The same
//     inputs in the same order give the same outputs, byte for byte.
//   * Input is pushed: connect / disconnect / handle / tick / subscribe / publish / send.
//   * Output is pulled: after EVERY call that pushes input, drain poll_transmit() and poll_event()
//     until they return nullopt, then arm a timer for next_deadline() and call tick(now_ms) when it
//     fires. Extra tick() calls are harmless no-ops.
//   * Errors are values: nothing throws. A malformed frame from a peer returns kDecodeError from
//     handle() and leaves the node's state unchanged (the offending link may be hung up).
//   * Every queue is bounded (NodeLimits). publish() and send() return kResourceExhausted when the
//     outbound queue is above its high-water mark: that is the backpressure signal to the caller.
//
// Addressing: a transport address (`Address`) is an opaque string chosen by the host
// ("ws://10.0.0.2:7000", "mem:greeter", "n17" in the simulator). The node never parses it. A peer is
// a PeerId (Ed25519 public key, nitro/identity.h) proven by the secure-link handshake; every
// protocol above the link layer names peers by PeerId only.
//
// Transport contract for the host:
//   * Event kDial{address}: open a transport to `address`; when it opens call
//     connect(address, /*initiator=*/true, now); if it cannot open call disconnect(address, now).
//   * An inbound transport opening: connect(its address, /*initiator=*/false, now).
//   * Bytes arriving: handle(address, bytes, now). Each handle() call carries exactly one frame
//     that the node emitted as one Transmit (transports are message-oriented: one WebSocket
//     message, one simulator datagram). Frames may be lost, duplicated or reordered; the node copes.
//   * Event kHangup{address}: close that transport; then (or whenever a transport closes for any
//     reason) call disconnect(address, now).
//
// Protocol seam: a protocol is attached under a channel name (e.g. "rpc", "crdt", "beacon").
//   * In C++: implement nitro::Protocol and add_protocol(channel, ...). The node calls it back with
//     direct messages on its channel, link up/down, broadcasts on the topics it subscribed through
//     its ProtocolContext, and its own timers (its next_deadline() is folded into the node's).
//     Through the ProtocolContext it sends to one peer (over the secure link) or publishes to a
//     topic (origin-signed, disseminated by gossip), and emits kProtocol events for the host.
//   * From JS (or any host) without C++: send(peer, channel, bytes) and receive kDirect events;
//     subscribe/publish for broadcast.
// Channel names are 1..32 bytes; names starting with "nitro." are reserved for the node itself.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nitro/identity.h"
#include "nitro/status.h"
#include "nitro/value.h"

namespace nitro {

using Address = std::string;  // opaque transport address, chosen by the host

// Dissemination strategy for pub/sub. kPlumtree is the product; the other two are baselines kept
// for the benchmark and the simulator (same overlay, same links, same accounting).
enum class BroadcastMode : std::uint8_t {
  kPlumtree = 0,  // eager push along a spanning tree, lazy IHAVE elsewhere, GRAFT/PRUNE repair
  kFlood = 1,     // forward every new message to every neighbor
  kMesh = 2,      // gossipsub-like: eager push to a D-regular mesh per topic, IHAVE/IWANT gossip
};

struct NodeTimers {
  std::uint64_t probe_interval_ms = 1000;      // SWIM: one active-view peer probed per interval
  std::uint64_t probe_timeout_ms = 400;        // direct ping ack wait, then indirect ping-req
  std::uint64_t suspicion_timeout_ms = 3000;   // suspect -> dead (scaled by Lifeguard local health)
  std::uint64_t shuffle_interval_ms = 10000;   // HyParView passive-view shuffle
  std::uint64_t repair_interval_ms = 500;      // refill the active view from the passive view
  std::uint64_t reconnect_interval_ms = 2000;  // retry one recently failed peer (partition healing)
  std::uint64_t neighbor_timeout_ms = 2000;    // NEIGHBOR / JOIN request without answer
  std::uint64_t handshake_timeout_ms = 3000;   // secure-link handshake must finish within this
  std::uint64_t link_rekey_ms = 3600000;       // each link moves to a fresh key at least this often
  std::uint64_t link_idle_ms = 30000;          // a link outside the active view, idle, is closed
  std::uint64_t ihave_timeout_ms = 300;        // Plumtree: wait after IHAVE before GRAFT
  std::uint64_t graft_retry_ms = 200;          // Plumtree: wait for the payload after a GRAFT
  std::uint64_t lazy_flush_ms = 20;            // IHAVE batching window
  std::uint64_t reorder_wait_ms = 2000;        // per-publisher ordering: max hold for a gap
  std::uint64_t mesh_heartbeat_ms = 1000;      // kMesh only
  std::uint64_t message_ttl_ms = 120000;       // cache for GRAFT/IWANT answers
};

struct NodeLimits {
  std::size_t frame_bytes_max = 1u << 20;          // one wire frame, before decryption
  std::size_t payload_bytes_max = 512u * 1024u;    // one published payload
  std::size_t topic_bytes_max = 256;
  std::size_t transmit_queue_max = 1u << 16;       // frames waiting for poll_transmit
  std::size_t transmit_queue_high_water = 1u << 15;// publish/send refuse above this
  std::size_t event_queue_max = 1u << 16;          // events waiting for poll_event
  std::size_t links_max = 256;                     // transport links (any state)
  std::size_t pending_frames_per_link_max = 64;    // frames queued while a handshake runs
  std::size_t message_cache_max = 4096;            // payloads kept for GRAFT/IWANT
  std::size_t seen_streams_max = 8192;             // (origin, topic) ordering/dedup states
  std::size_t hold_back_per_stream_max = 256;      // out-of-order messages held per stream
  std::size_t lazy_queue_per_peer_max = 1024;      // IHAVE ids waiting to be flushed
  std::size_t topics_max = 1024;                   // subscriptions
};

struct NodeConfig {
  crypto::Seed identity_seed{};         // the node's Ed25519 key (persist it to keep the PeerId)
  crypto::Seed entropy{};               // all other randomness (fresh random bytes in production)
  Address listen_address;               // how others can dial us; "" for a client-only node
  std::vector<Address> bootstrap;       // contacts for the initial join (and rejoin when isolated)
  BroadcastMode mode = BroadcastMode::kPlumtree;
  std::size_t active_view_max = 5;      // ~log(N)+1; the kMesh baseline wants ~12 connections
  std::size_t passive_view_max = 30;
  std::size_t mesh_degree = 6;          // kMesh: D (D_lo = D-2, D_hi = 2D)
  std::size_t mesh_gossip_peers = 6;    // kMesh: D_lazy
  std::uint32_t plumtree_flood_hops = 3;// kPlumtree: the first hops push to every neighbor
  bool secure_links = true;             // false only in tests that measure the link layer's cost
  NodeTimers timers;
  NodeLimits limits;
};

struct Transmit {
  Address address;
  Bytes bytes;
};

enum class EventType : std::uint8_t {
  kMessage = 1,       // pub/sub delivery: topic, origin, seq, hops, payload; peer = relaying neighbor
  kPeerUp = 2,        // secure link to `peer` at `address` established
  kPeerDown = 3,      // that link closed or failed
  kNeighborUp = 4,    // `peer` entered our active view
  kNeighborDown = 5,  // `peer` left our active view (failure detected, churn, or replaced)
  kDirect = 6,        // bytes from `peer` on channel `topic` that no Protocol claimed
  kDial = 7,          // host: open a transport to `address` (see the transport contract above)
  kHangup = 8,        // host: close the transport to `address`
  kProtocol = 9,      // a Protocol's own event: channel in `topic`, its bytes in `payload`
};

struct Event {
  EventType type = EventType::kMessage;
  PeerId peer;
  Address address;
  std::string topic;    // kMessage: topic; kDirect / kProtocol: channel
  PeerId origin;        // kMessage: the publisher; its signature was verified
  std::uint64_t seq = 0;   // kMessage: publisher's per-topic sequence number (1, 2, ...)
  std::uint32_t hops = 0;  // kMessage: overlay hops from the publisher
  Bytes payload;
  std::string pattern;     // kMessage: the subscription it matched (one event per matching one)
  std::string queue;       // kMessage: that subscription's queue group ('' for none)
};

// Durable state, written ahead. The core decides what must survive a crash; the host stores it.
// Host contract: after every call, drain poll_store() BEFORE poll_transmit() and make the writes
// durable, in order, before sending any transmit drained after them, so no peer ever sees an
// effect of state this node could forget. On restart, hand every stored record back to
// Node::restore(config, records). Keys: "node/..." for the node itself, "<channel>/..." for a
// protocol (the ProtocolContext prefixes them).
struct StoreOp {
  std::string key;
  std::optional<Bytes> value;  // nullopt: delete the key
};
using StoredRecords = std::map<std::string, Bytes>;

struct PeerInfo {
  PeerId peer;
  Address address;       // the transport this link runs on
  Address listen_address;// what the peer advertised for others to dial ("" if none)
  bool neighbor = false; // in the active view
};

struct NodeStats {
  std::uint64_t frames_in = 0, frames_out = 0, bytes_in = 0, bytes_out = 0;
  std::uint64_t decode_errors = 0, auth_failures = 0, dropped_backpressure = 0;
  std::uint64_t published = 0, delivered = 0;
  std::uint64_t payloads_received = 0;    // gossip payload frames received (first + duplicate)
  std::uint64_t duplicate_payloads = 0;   // of which already seen
  std::uint64_t ihave_sent = 0, grafts_sent = 0, prunes_sent = 0;
  std::uint64_t ordering_gaps_skipped = 0;
  std::uint64_t neighbors_up = 0, neighbors_down = 0, suspicions = 0, deaths = 0;
  std::uint64_t handshakes_ok = 0, handshakes_failed = 0;
  std::uint64_t rekeys = 0;               // time-based link rekeys (count-based ones are in the link)
  // Byzantine peers (docs/notes/faults.md): a strike is an undecodable or forged frame from an
  // authenticated peer; kStrikesMax of them and the peer is refused for a while.
  std::uint64_t strikes = 0, peers_refused = 0;
  std::uint64_t membership_refused = 0;   // peer refs beyond what one sender may place in our views
};

class ProtocolContext;

// A protocol plugged into the node under one channel. All callbacks run inside the node's public
// calls (handle/tick/connect/...), so a protocol is as deterministic as the node. A callback must
// not call back into the Node itself — only into its ProtocolContext.
class Protocol {
 public:
  virtual ~Protocol() = default;
  // Called once by add_protocol; `ctx` outlives the protocol's attachment.
  virtual void attach(ProtocolContext& ctx) = 0;
  // A frame sent by `from`'s instance of this protocol (ProtocolContext::send), already
  // authenticated and decrypted by the secure link.
  virtual void on_message(const PeerId& from, std::span<const std::uint8_t> bytes, std::uint64_t now_ms) = 0;
  // A broadcast on a topic this protocol subscribed to; `origin` signed it.
  virtual void on_broadcast(const std::string& topic, const PeerId& origin, std::uint64_t seq,
                            std::span<const std::uint8_t> payload, std::uint64_t now_ms) {
    (void)topic; (void)origin; (void)seq; (void)payload; (void)now_ms;
  }
  virtual void on_peer_up(const PeerId& peer, std::uint64_t now_ms) { (void)peer; (void)now_ms; }
  virtual void on_peer_down(const PeerId& peer, std::uint64_t now_ms) { (void)peer; (void)now_ms; }
  virtual void tick(std::uint64_t now_ms) { (void)now_ms; }
  virtual std::optional<std::uint64_t> next_deadline() const { return std::nullopt; }
};

// What a protocol may do, bound to its channel.
class ProtocolContext {
 public:
  virtual ~ProtocolContext() = default;
  virtual const PeerId& local_id() const = 0;
  // Over the secure link to `peer` (dialing its known address if no link is up). kUnavailable if
  // the peer has no known address, kResourceExhausted under backpressure.
  virtual Status send(const PeerId& peer, std::span<const std::uint8_t> bytes) = 0;
  // Origin-signed broadcast to every subscriber of `topic`; returns the sequence number.
  virtual Result<std::uint64_t> publish(const std::string& topic, std::span<const std::uint8_t> payload) = 0;
  virtual Status subscribe(const std::string& topic) = 0;
  virtual Status unsubscribe(const std::string& topic) = 0;
  virtual std::vector<PeerInfo> peers() const = 0;       // established links
  // Whether send(peer) has a way to the peer (a link, or an address to dial), without dialing.
  virtual bool knows_route(const PeerId& peer) const { (void)peer; return true; }
  virtual std::vector<PeerId> neighbors() const = 0;     // active view
  virtual void emit(Bytes payload) = 0;                  // a kProtocol event for the host
  virtual void random_bytes(std::span<std::uint8_t> out) = 0;  // from the node's injected entropy
  virtual std::uint64_t now_ms() const = 0;              // time of the call being processed
  // Write-ahead durable state under this protocol's channel (see StoreOp); `key` is relative.
  virtual void store_put(const std::string& key, Bytes value) = 0;
  virtual void store_delete(const std::string& key) = 0;
  // The records found under this channel when the node was restored (relative keys). Handed over
  // once: the first call moves them out, later calls return nothing.
  virtual StoredRecords take_restored() = 0;
  // Access control (nitro/auth.h): may `peer` perform `op` on `resource`? OK, or PERMISSION_DENIED
  // naming the deciding rule. Every protocol asks on the receiving side; without an "auth"
  // protocol attached everything is allowed.
  virtual Status authorize(const PeerId& peer, std::string_view op, std::string_view resource) {
    (void)peer; (void)op; (void)resource;
    return Status::ok_status();
  }
  // The same, decided with exactly the token the peer referenced (`token_ref`: its id in hex, as RPC
  // metadata and document updates carry it): PERMISSION_DENIED if that token is unknown on the
  // link, not live or does not grant the operation. An empty reference is the call above.
  virtual Status authorize_with(const PeerId& peer, std::string_view op, std::string_view resource,
                                std::string_view token_ref) {
    (void)token_ref;
    return authorize(peer, op, resource);
  }
  // A revocation record (nitro/auth.h) that became part of a chain's committed state, for the
  // access protocol to honour like one received by gossip. Without one attached it is dropped.
  virtual void committed_revocation(std::span<const std::uint8_t> record) { (void)record; }
};

// OK, or INVALID_ARGUMENT naming the first bad field ("active_view_max", "limits.frame_bytes_max"...).
Status validate(const NodeConfig& config);

class NodeImpl;

class Node {
 public:
  explicit Node(const NodeConfig& config);
  // The same, with the config checked first: INVALID_ARGUMENT naming the first bad field.
  static Result<std::unique_ptr<Node>> create(const NodeConfig& config);
  // Restart from save_state() bytes (identity, publish sequence numbers, passive view).
  static Result<std::unique_ptr<Node>> restore(const NodeConfig& config, std::span<const std::uint8_t> state);
  // Restart from the records the host stored (StoreOp). "node/state" holds the node's own state
  // (save_state() bytes); every other record is kept for the protocol whose channel prefixes it.
  static Result<std::unique_ptr<Node>> restore(const NodeConfig& config, StoredRecords records);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const PeerId& id() const;
  const NodeConfig& config() const;

  // Membership: join through `contact` (also done for every config.bootstrap entry on start()).
  void start(std::uint64_t now_ms);
  void join(const Address& contact, std::uint64_t now_ms);

  // Transport notifications and input.
  void connect(const Address& address, bool initiator, std::uint64_t now_ms);
  void disconnect(const Address& address, std::uint64_t now_ms);
  Status handle(const Address& address, std::span<const std::uint8_t> bytes, std::uint64_t now_ms);
  void tick(std::uint64_t now_ms);

  // Output.
  [[nodiscard]] std::optional<Transmit> poll_transmit();
  [[nodiscard]] std::optional<Event> poll_event();
  [[nodiscard]] std::optional<StoreOp> poll_store();  // drain before poll_transmit (see StoreOp)
  [[nodiscard]] std::optional<std::uint64_t> next_deadline() const;

  // Pub/sub. Deliveries arrive as kMessage events, per publisher in sequence order, one per
  // matching subscription. A subscription is a NATS-style pattern ('.'-separated tokens, `*` one
  // token, a final `>` one or more) with an optional queue group: of the members of a group
  // (same pattern and queue, on any node) one takes each message (guarantee in
  // core/src/node/subscriptions.h). Topics given to publish have no wildcard tokens.
  Status subscribe(const std::string& topic);
  Status unsubscribe(const std::string& topic);
  Status subscribe(const std::string& pattern, const std::string& queue);
  Status unsubscribe(const std::string& pattern, const std::string& queue);
  // The members of a queue group this node knows (itself included when subscribed), by peer id.
  std::vector<PeerId> queue_members(const std::string& pattern, const std::string& queue) const;
  Result<std::uint64_t> publish(const std::string& topic, std::span<const std::uint8_t> payload, std::uint64_t now_ms);

  // Direct channel message for hosts without a C++ Protocol (arrives as kDirect at the peer).
  Status send(const PeerId& peer, const std::string& channel, std::span<const std::uint8_t> bytes, std::uint64_t now_ms);
  // Adversarial testing only (the simulator's Byzantine peers): sends `frame`, a plaintext
  // node-protocol frame (gossip wire, any kind), to `peer` over the authenticated link as if this
  // node's own logic had produced it. kUnavailable without an established link. An honest host
  // never needs it; receivers must treat whatever arrives this way as they treat any peer input.
  Status inject_frame(const PeerId& peer, std::span<const std::uint8_t> frame);
  // Attach a C++ protocol (kAlreadyExists if the channel is taken, kInvalidArgument for a bad name).
  Status add_protocol(const std::string& channel, std::unique_ptr<Protocol> protocol);
  Protocol* protocol(const std::string& channel) const;
  // The access decision protocols get from ProtocolContext::authorize (for host-side checks).
  Status authorize(const PeerId& peer, std::string_view op, std::string_view resource);
  Status authorize_with(const PeerId& peer, std::string_view op, std::string_view resource, std::string_view token_ref);

  std::vector<PeerInfo> peers() const;
  std::vector<PeerId> neighbors() const;          // active view
  std::vector<PeerId> passive_view() const;
  bool refuses(const PeerId& peer) const;          // refused after too many strikes, for now
  const NodeStats& stats() const;
  Bytes save_state() const;

 private:
  Node() = default;
  std::unique_ptr<NodeImpl> impl_;
};

}  // namespace nitro
