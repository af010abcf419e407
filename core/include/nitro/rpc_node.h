// RPC as a protocol on nitro::Node: the one RPC composition. A createNode node runs it in wasm
// (bindings/rpc.cpp, js/src/rpc/), the simulator and C++ hosts run it natively.
//
// It plugs the sans-IO RPC engine (nitro/rpc.h) into the node's protocol seam (nitro/node.h):
//   * frames travel over the node's secure links on channel "rpc"; the frames for one peer after
//     one step leave as ONE link message (nitro/rpc_batch.h), so a burst costs one seal and write;
//   * peers are named by their PeerId text (PeerId::to_string);
//   * discovery: the services a node serves are advertised as origin-signed gossip on topic
//     "rpc.ads" (every ad_interval_ms, or one second per advertiser heard if longer, and soon
//     after a newcomer is heard, by a few nodes of a large network) and directly to every
//     peer whose link comes up, with a TTL; a direct ad from a peer not heard before is answered
//     with ours, so two linked nodes know each other after one round trip;
//   * a call for a service with no known instance waits inside the protocol until an instance is
//     discovered, its deadline, or discovery_wait_ms_max, whichever comes first;
//   * at-most-once survives a restart: each client session's high-water mark is written ahead
//     through the node's store (keys "rpc/dd/..."), and a restored node refuses (ABORTED) the
//     requests at or below it. The host must make a drain's store writes durable before it runs
//     the handlers of the requests drained with them.
// Deterministic like the node: no clock, no IO, entropy from the node's injected source.
//
// Driving it (a C++ host or the simulator): get the protocol back with node.protocol("rpc"), start
// calls with start_call() (discovery wait) or engine().start_call() (none), register handlers with
// engine(), and drain engine().poll_event() after the node's own calls. With emit_events (the JS
// host) engine events leave instead as kProtocol events holding drain batches (nitro/rpc_batch.h).
// Host calls made outside a node callback queue frames: call flush(now) (or step()), then drain
// the node.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "nitro/node.h"
#include "nitro/rpc.h"
#include "nitro/rpc_batch.h"

namespace nitro::rpc {

inline constexpr const char* kNodeChannel = "rpc";
inline constexpr const char* kAdsTopic = "rpc.ads";

inline constexpr std::uint64_t kAdTtlMsDefault = 30000;
inline constexpr std::uint64_t kAdIntervalMsDefault = 10000;
static_assert(kAdIntervalMsDefault * 2 < kAdTtlMsDefault);

// A node's links come back by themselves (membership redials): a call whose link dropped before
// it heard anything waits for the new link rather than failing.
inline EngineConfig node_engine_defaults() {
  EngineConfig c;
  c.reconnect_grace_ms = 3000;
  return c;
}

struct NodeRpcConfig {
  EngineConfig engine = node_engine_defaults();
  std::string name;                          // a service this node answers to ("": none yet)
  std::uint64_t ad_ttl_ms = kAdTtlMsDefault;            // an instance disappears this long after its last ad
  std::uint64_t ad_interval_ms = kAdIntervalMsDefault;  // re-advertise period (under half the TTL)
  std::uint64_t ad_gap_ms = 1000;            // extra gossip ads (newcomers) at most once per gap
  std::uint64_t discovery_wait_ms_max = 2000;// how long a call waits for its service to appear
  std::size_t pending_calls_max = 4096;      // calls waiting for discovery
  bool emit_events = false;                  // engine events as kProtocol drain batches (JS host)
};

// OK, or INVALID_ARGUMENT naming the first bad field.
Status validate(const NodeRpcConfig& config);

class NodeRpc : public Protocol {
 public:
  // The constructor asserts a valid config; create() checks it and reports the bad field.
  explicit NodeRpc(NodeRpcConfig config = {});
  static Result<std::unique_ptr<NodeRpc>> create(NodeRpcConfig config);

  // Protocol
  void attach(ProtocolContext& ctx) override;
  void on_message(const PeerId& from, std::span<const std::uint8_t> bytes, std::uint64_t now_ms) override;
  void on_broadcast(const std::string& topic, const PeerId& origin, std::uint64_t seq,
                    std::span<const std::uint8_t> payload, std::uint64_t now_ms) override;
  void on_peer_up(const PeerId& peer, std::uint64_t now_ms) override;
  void on_peer_down(const PeerId& peer, std::uint64_t now_ms) override;
  void tick(std::uint64_t now_ms) override;
  std::optional<std::uint64_t> next_deadline() const override;

  // Host API. The engine exists once the protocol is attached.
  Engine& engine();
  // Serves `service` (engine().serve) and advertises it soon, by gossip and to every linked peer.
  void serve(const std::string& service);
  // Starts a call (see the header comment for the discovery wait). A call that cannot start now
  // is an error; one that waited and then cannot start ends with a kDone event.
  Result<CallHandle> start_call(CallOptions options, std::uint64_t now_ms);
  // The same on a handle from engine().reserve_handles(); every failure arrives as kDone.
  void start_reserved(CallHandle handle, CallOptions options, std::uint64_t now_ms);
  Status cancel(CallHandle handle, std::uint64_t now_ms);
  // The JS host's step input (nitro/rpc_batch.h) applied, frames sent, and the drain batch (the
  // events it caused; transmits went to the node) appended to `out`.
  Status step(std::span<const std::uint8_t> input, std::uint64_t now_ms, Bytes& out);
  // Sends the frames host calls queued (and, with emit_events, emits the events they caused).
  void flush(std::uint64_t now_ms);
  std::size_t pending_calls() const { return pending_.size(); }
  static PeerKey key(const PeerId& peer) { return peer.to_string(); }

 private:
  struct Pending {
    CallOptions options;
    std::uint64_t started_ms = 0;
    std::uint64_t until_ms = 0;
  };

  void send_frames(std::uint64_t now_ms);
  void persist_dedupe();
  void restore_dedupe(const StoredRecords& records);
  void after_callback(std::uint64_t now_ms);
  void on_advertisement(const Advertisement& ad, const PeerId& origin, std::uint64_t now_ms);
  bool waits_for_discovery(const CallOptions& options, std::uint64_t now_ms);
  void hold(CallHandle handle, CallOptions options, std::uint64_t now_ms);
  void release_pending(std::uint64_t now_ms, bool expired_only);
  void launch(CallHandle handle, Pending pending, std::uint64_t now_ms);
  bool routable(const PeerId& peer);
  bool chance(std::size_t k, std::size_t n);
  std::uint64_t ad_period_ms() const;
  Advertisement own_advertisement() const;
  void advertise(std::uint64_t now_ms);
  void send_direct_ad(const PeerId& peer);
  void remember_peer(const PeerKey& key, const PeerId& peer);
  std::uint64_t ad_at() const;

  NodeRpcConfig config_;
  ProtocolContext* ctx_ = nullptr;
  std::unique_ptr<Engine> engine_;
  std::set<std::string> served_;
  std::map<PeerKey, PeerId> peers_;        // PeerId text -> PeerId, for sending (bounded below)
  std::set<PeerKey> heard_from_;           // peers whose ads we answered (bounded below)
  std::map<CallHandle, Pending> pending_;  // calls waiting for discovery
  LinkBatcher batcher_;
  Bytes events_out_;
  std::uint64_t next_ad_ms_ = 0;
  std::uint64_t last_ad_ms_ = 0;
  bool ad_due_ = false;
  bool direct_ads_due_ = false;
  bool newcomer_ad_due_ = false;  // a newcomer was heard: answer, spaced by network size
  static constexpr std::size_t kPeerCacheMax = 4096;
  static constexpr std::size_t kHeardFromMax = 4096;
  static constexpr std::size_t kNewcomerAdvertisers = 8;     // nodes answering a newcomer's first ad
  static constexpr std::uint64_t kAdPeriodPerPeerMs = 1000;   // ad period per advertiser heard
};

}  // namespace nitro::rpc
