// NodeRpc: the RPC engine as a nitro::Node protocol (see nitro/rpc_node.h).
#include "nitro/rpc_node.h"

#include <algorithm>

namespace nitro::rpc {

NodeRpc::NodeRpc(NodeRpcConfig config) : config_(config) {}

void NodeRpc::attach(ProtocolContext& ctx) {
  ctx_ = &ctx;
  std::uint8_t seed_bytes[8];
  ctx.random_bytes(seed_bytes);
  std::uint64_t seed = 0;
  for (std::uint8_t b : seed_bytes) seed = seed << 8 | b;
  engine_ = std::make_unique<Engine>(key(ctx.local_id()), seed, config_.engine);
  for (const auto& s : served_) engine_->serve(s);
  (void)ctx.subscribe(kAdsTopic);  // only fails for a bad topic name, which this is not
}

Engine& NodeRpc::engine() {
  assert(engine_ && "NodeRpc::engine() before add_protocol()");
  return *engine_;
}

void NodeRpc::serve(const std::string& service) {
  served_.insert(service);
  if (engine_) engine_->serve(service);
  ad_due_ = true;
}

void NodeRpc::on_message(const PeerId& from, std::span<const std::uint8_t> bytes, std::uint64_t now_ms) {
  PeerKey k = key(from);
  if (peers_.size() >= kPeerCacheMax) peers_.clear();
  peers_.emplace(k, from);
  (void)engine_->handle(k, bytes, static_cast<std::int64_t>(now_ms));  // malformed: dropped
  flush(now_ms);
}

void NodeRpc::on_broadcast(const std::string& topic, const PeerId& origin, std::uint64_t,
                           std::span<const std::uint8_t> payload, std::uint64_t now_ms) {
  if (topic != kAdsTopic || origin == ctx_->local_id()) return;
  auto ad = decode_advertisement(payload, config_.engine.limits);
  // The origin signed the broadcast: an advertisement may only speak for its origin.
  if (!ad.ok() || ad->peer != key(origin)) return;
  if (peers_.size() >= kPeerCacheMax) peers_.clear();
  peers_.emplace(ad->peer, origin);
  (void)engine_->registry().apply(*ad, static_cast<std::int64_t>(now_ms));
}

// A new link may be a newcomer that missed earlier advertisements: advertise soon.
void NodeRpc::on_peer_up(const PeerId&, std::uint64_t) {
  if (!served_.empty()) ad_due_ = true;
}

void NodeRpc::on_peer_down(const PeerId& peer, std::uint64_t now_ms) {
  engine_->peer_down(key(peer), static_cast<std::int64_t>(now_ms));
  flush(now_ms);
}

void NodeRpc::tick(std::uint64_t now_ms) {
  engine_->tick(static_cast<std::int64_t>(now_ms));
  if (!served_.empty() && now_ms >= ad_at()) advertise(now_ms);
  flush(now_ms);
}

std::optional<std::uint64_t> NodeRpc::next_deadline() const {
  if (!engine_) return std::nullopt;
  std::optional<std::uint64_t> at;
  if (auto d = engine_->next_deadline()) at = static_cast<std::uint64_t>(std::max<std::int64_t>(0, *d));
  if (!served_.empty()) at = std::min(at.value_or(UINT64_MAX), ad_at());
  if (engine_->has_transmits()) at = ctx_->now_ms();  // host calls made outside a callback
  return at;
}

// When the next advertisement is due: the period, or sooner after a new link (rate-limited).
std::uint64_t NodeRpc::ad_at() const {
  return ad_due_ ? std::min(next_ad_ms_, last_ad_ms_ + config_.ad_gap_ms) : next_ad_ms_;
}

void NodeRpc::advertise(std::uint64_t now_ms) {
  Advertisement ad;
  ad.peer = key(ctx_->local_id());
  ad.ttl_ms = config_.ad_ttl_ms;
  for (const auto& s : served_) ad.services.push_back({s, {}});
  // Backpressure or no neighbors yet: the next period tries again.
  (void)ctx_->publish(kAdsTopic, encode_advertisement(ad));
  ad_due_ = false;
  last_ad_ms_ = now_ms;
  next_ad_ms_ = now_ms + config_.ad_interval_ms;
}

// Engine frames to the node. A peer the node cannot reach fails its calls now (UNAVAILABLE,
// idempotent ones retry elsewhere); that may queue more frames, which this same loop sends
// (bounded: each call has a bounded number of attempts).
void NodeRpc::flush(std::uint64_t now_ms) {
  while (auto t = engine_->poll_transmit()) {
    auto it = peers_.find(t->peer);
    std::optional<PeerId> peer;
    if (it != peers_.end()) {
      peer = it->second;
    } else if (auto parsed = PeerId::parse(t->peer); parsed.ok()) {
      peer = *parsed;
    }
    Status s = peer ? ctx_->send(*peer, t->bytes) : unavailable("not a peer id");
    if (s.code() == Code::kUnavailable || s.code() == Code::kInvalidArgument) {
      engine_->peer_down(t->peer, static_cast<std::int64_t>(now_ms));
    }
  }
}

}  // namespace nitro::rpc
