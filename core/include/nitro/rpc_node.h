// RPC as a protocol on nitro::Node: the sans-IO RPC engine (nitro/rpc.h) plugged into the node's
// protocol seam (nitro/node.h). Frames travel over the node's secure links on channel "rpc";
// peers are named by their PeerId text (PeerId::to_string); service advertisements travel as
// origin-signed gossip on topic "rpc.ads" and feed the engine's registry with a TTL, so
// discovery needs no central server. Deterministic like the node: no clock, no IO, entropy from
// the node's injected source.
//
// Driving it (a C++ host or the simulator): get the protocol back with node.protocol("rpc"), use
// engine() for calls, handlers and the registry, and drain engine().poll_event() after the node's
// own calls. Frames the host's calls produce leave at the node's next callback into the protocol
// (a frame in, a timer) — callbacks are the only place a protocol may use its context.
// JS hosts that drive the wasm Node without C++ use js/src/rpc.ts over node.send(peer, "rpc", ...)
// and kDirect events instead: the same engine, the same wire.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "nitro/node.h"
#include "nitro/rpc.h"

namespace nitro::rpc {

inline constexpr const char* kNodeChannel = "rpc";
inline constexpr const char* kAdsTopic = "rpc.ads";

struct NodeRpcConfig {
  EngineConfig engine;
  std::uint64_t ad_ttl_ms = 30000;       // an instance disappears this long after its last ad
  std::uint64_t ad_interval_ms = 10000;  // re-advertise period (must be well under the TTL)
  std::uint64_t ad_gap_ms = 1000;        // a new link triggers an ad, at most once per gap
};
static_assert(NodeRpcConfig{}.ad_interval_ms * 2 < NodeRpcConfig{}.ad_ttl_ms);

class NodeRpc : public Protocol {
 public:
  explicit NodeRpc(NodeRpcConfig config = {});

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
  // Serves `service` (engine().serve) and advertises it on the next tick.
  void serve(const std::string& service);
  static PeerKey key(const PeerId& peer) { return peer.to_string(); }

 private:
  void flush(std::uint64_t now_ms);
  void advertise(std::uint64_t now_ms);
  std::uint64_t ad_at() const;

  NodeRpcConfig config_;
  ProtocolContext* ctx_ = nullptr;
  std::unique_ptr<Engine> engine_;
  std::set<std::string> served_;
  std::map<PeerKey, PeerId> peers_;       // PeerId text -> PeerId, for sending (bounded below)
  std::uint64_t next_ad_ms_ = 0;
  std::uint64_t last_ad_ms_ = 0;
  bool ad_due_ = false;
  static constexpr std::size_t kPeerCacheMax = 4096;
};

}  // namespace nitro::rpc
