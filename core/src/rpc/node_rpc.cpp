// NodeRpc: the RPC engine as a nitro::Node protocol (see nitro/rpc_node.h).
#include "nitro/rpc_node.h"

#include <algorithm>
#include <cstring>
#include <string_view>

#include "nitro/assert.h"
#include "nitro/auth.h"

namespace nitro::rpc {

Status validate(const NodeRpcConfig& c) {
  NITRO_TRY(validate(c.engine));
  if (c.name.size() > c.engine.limits.name_bytes_max) return invalid_argument("rpc config: name too long");
  if (c.ad_ttl_ms == 0) return invalid_argument("rpc config: ad_ttl_ms must be > 0");
  if (c.ad_interval_ms == 0 || c.ad_interval_ms * 2 >= c.ad_ttl_ms) {
    return invalid_argument("rpc config: ad_interval_ms must be > 0 and under half of ad_ttl_ms");
  }
  if (c.pending_calls_max == 0) return invalid_argument("rpc config: pending_calls_max must be > 0");
  return {};
}

NodeRpc::NodeRpc(NodeRpcConfig config) : config_(std::move(config)) {
  NITRO_ASSERT(validate(config_).ok());
  if (!config_.name.empty()) served_.insert(config_.name);
}

Result<std::unique_ptr<NodeRpc>> NodeRpc::create(NodeRpcConfig config) {
  NITRO_TRY(validate(config));
  return std::make_unique<NodeRpc>(std::move(config));
}

void NodeRpc::attach(ProtocolContext& ctx) {
  ctx_ = &ctx;
  std::uint8_t seed_bytes[8];
  ctx.random_bytes(seed_bytes);
  std::uint64_t seed = 0;
  for (std::uint8_t b : seed_bytes) seed = seed << 8 | b;
  engine_ = std::make_unique<Engine>(key(ctx.local_id()), seed, config_.engine);
  for (const auto& s : served_) engine_->serve(s);
  engine_->set_admission([this](const PeerKey& from, const std::string& method, const Metadata& metadata) {
    auto peer = PeerId::parse(from);
    if (!peer.ok()) return permission_denied("rpc: caller is not a peer id");
    auto token = metadata.find(auth::kTokenMetadataKey);  // the caller names the token it calls with
    return token == metadata.end() ? ctx_->authorize(*peer, "rpc", method)
                                   : ctx_->authorize_with(*peer, "rpc", method, token->second);
  });
  engine_->track_dedupe(true);
  restore_dedupe(ctx.take_restored());
  ad_due_ = direct_ads_due_ = !served_.empty();
  (void)ctx.subscribe(kAdsTopic);  // only fails for a bad topic name, which this is not
}

Engine& NodeRpc::engine() {
  NITRO_ASSERT(engine_ != nullptr);  // engine() before add_protocol()
  return *engine_;
}

void NodeRpc::serve(const std::string& service) {
  if (!served_.insert(service).second) return;
  if (engine_) engine_->serve(service);
  ad_due_ = direct_ads_due_ = true;
}

// ---- node callbacks --------------------------------------------------------------------------

void NodeRpc::on_message(const PeerId& from, std::span<const std::uint8_t> bytes, std::uint64_t now_ms) {
  auto m = decode_link_message(bytes, config_.engine.limits);
  if (!m.ok()) return;  // malformed: dropped whole (requests are retransmitted or time out)
  PeerKey k = key(from);
  remember_peer(k, from);
  if (m->kind == kLinkAdvertisement) {
    on_advertisement(m->advertisement, from, now_ms);
    // A peer we had not heard from: answer with our ad, so both sides know each other now.
    if (!served_.empty() && heard_from_.size() < kHeardFromMax && heard_from_.insert(k).second) send_direct_ad(from);
  } else {
    for (auto frame : m->frames) (void)engine_->handle(k, frame, static_cast<std::int64_t>(now_ms));
  }
  after_callback(now_ms);
}

void NodeRpc::on_broadcast(const std::string& topic, const PeerId& origin, std::uint64_t,
                           std::span<const std::uint8_t> payload, std::uint64_t now_ms) {
  if (topic != kAdsTopic || origin == ctx_->local_id()) return;
  auto ad = decode_advertisement(payload, config_.engine.limits);
  if (!ad.ok()) return;
  // A newcomer joined after our last ad: advertise soon (rate-limited by ad_gap_ms). In a large
  // network only about kNewcomerAdvertisers nodes answer each newcomer (every answer reaches every
  // node: all answering would cost N^2 deliveries per join); the rest reach it with their next
  // periodic ad.
  if (!served_.empty() && heard_from_.size() < kHeardFromMax && heard_from_.insert(key(origin)).second &&
      chance(kNewcomerAdvertisers, heard_from_.size())) {
    newcomer_ad_due_ = true;
  }
  if (!routable(origin)) return;  // counted above all the same: it sets the ad period
  on_advertisement(*ad, origin, now_ms);
  after_callback(now_ms);
}

// A new link may be a newcomer that missed earlier advertisements: tell it directly.
void NodeRpc::on_peer_up(const PeerId& peer, std::uint64_t now_ms) {
  if (!served_.empty()) send_direct_ad(peer);
  engine_->peer_up(key(peer), static_cast<std::int64_t>(now_ms));
  after_callback(now_ms);
}

void NodeRpc::on_peer_down(const PeerId& peer, std::uint64_t now_ms) {
  engine_->peer_down(key(peer), static_cast<std::int64_t>(now_ms));
  after_callback(now_ms);
}

void NodeRpc::tick(std::uint64_t now_ms) {
  engine_->tick(static_cast<std::int64_t>(now_ms));
  release_pending(now_ms, /*expired_only=*/true);
  if (!served_.empty() && now_ms >= ad_at()) advertise(now_ms);
  after_callback(now_ms);
}

std::optional<std::uint64_t> NodeRpc::next_deadline() const {
  if (!engine_) return std::nullopt;
  std::uint64_t at = UINT64_MAX;
  if (auto d = engine_->next_deadline()) at = static_cast<std::uint64_t>(std::max<std::int64_t>(0, *d));
  if (!served_.empty()) at = std::min(at, ad_at());
  for (const auto& [h, p] : pending_) at = std::min(at, p.until_ms);  // bounded: pending_calls_max
  if (engine_->has_transmits() || !batcher_.empty()) at = ctx_->now_ms();  // host calls made outside a callback
  if (at == UINT64_MAX) return std::nullopt;
  return at;
}

// ---- host API --------------------------------------------------------------------------------

Result<CallHandle> NodeRpc::start_call(CallOptions options, std::uint64_t now_ms) {
  if (!waits_for_discovery(options, now_ms)) return engine().start_call(std::move(options), static_cast<std::int64_t>(now_ms));
  CallHandle h = engine_->reserve_handles(1);
  hold(h, std::move(options), now_ms);
  return h;
}

void NodeRpc::start_reserved(CallHandle handle, CallOptions options, std::uint64_t now_ms) {
  if (waits_for_discovery(options, now_ms)) return hold(handle, std::move(options), now_ms);
  launch(handle, Pending{std::move(options), now_ms, 0}, now_ms);
}

// Only unary and server-stream calls wait: client and bidi streams are written to right after the
// start, so they start at once (UNAVAILABLE if nothing is known).
bool NodeRpc::waits_for_discovery(const CallOptions& o, std::uint64_t now_ms) {
  return o.peer.empty() && !o.service.empty() && o.timeout_ms > 0 && pending_.size() < config_.pending_calls_max &&
         (o.kind == StreamKind::kUnary || o.kind == StreamKind::kServerStream) &&
         engine().registry().count(o.service, static_cast<std::int64_t>(now_ms)) == 0;
}

void NodeRpc::hold(CallHandle handle, CallOptions options, std::uint64_t now_ms) {
  const std::uint64_t wait = std::min<std::uint64_t>(config_.discovery_wait_ms_max, static_cast<std::uint64_t>(options.timeout_ms));
  pending_.emplace(handle, Pending{std::move(options), now_ms, now_ms + wait});
}

Status NodeRpc::cancel(CallHandle handle, std::uint64_t now_ms) {
  auto it = pending_.find(handle);
  if (it == pending_.end()) return engine().cancel(handle, static_cast<std::int64_t>(now_ms));
  CallOptions options = std::move(it->second.options);
  pending_.erase(it);
  return engine_->fail_reserved(handle, options, Status(Code::kCancelled, "cancelled"));
}

Status NodeRpc::step(std::span<const std::uint8_t> input, std::uint64_t now_ms, Bytes& out) {
  StepHooks hooks;
  hooks.start = [this, now_ms](CallHandle h, CallOptions o) { start_reserved(h, std::move(o), now_ms); };
  hooks.cancel = [this, now_ms](CallHandle h) { (void)cancel(h, now_ms); };
  Status s = apply_step(engine(), input, static_cast<std::int64_t>(now_ms), hooks);
  persist_dedupe();
  send_frames(now_ms);
  write_drain(*engine_, std::nullopt, /*with_transmits=*/false, out);
  return s;
}

void NodeRpc::flush(std::uint64_t now_ms) {
  if (!engine_) return;
  if (direct_ads_due_) advertise(now_ms);
  after_callback(now_ms);
}

// ---- internals -------------------------------------------------------------------------------

void NodeRpc::after_callback(std::uint64_t now_ms) {
  persist_dedupe();
  send_frames(now_ms);
  if (!config_.emit_events || !engine_->has_events()) return;
  events_out_.clear();
  write_drain(*engine_, std::nullopt, /*with_transmits=*/false, events_out_);
  ctx_->emit(events_out_);
}

// ---- durable dedupe: "dd/<peer>/<session, 16 hex digits>" -> high-water mark (8 bytes, big-endian)

namespace {
constexpr std::string_view kDedupePrefix = "dd/";
constexpr char kHex[] = "0123456789abcdef";

std::string dedupe_key(const PeerKey& peer, std::uint64_t session) {
  std::string k(kDedupePrefix);
  k += peer;
  k += '/';
  for (int shift = 60; shift >= 0; shift -= 4) k += kHex[(session >> shift) & 0xf];
  return k;
}

// The (peer, session) of a key this protocol wrote; anything else is not one of its records.
bool parse_dedupe_key(const std::string& key, PeerKey& peer, std::uint64_t& session) {
  if (key.size() < kDedupePrefix.size() + 18 || key.compare(0, kDedupePrefix.size(), kDedupePrefix) != 0) return false;
  const std::size_t slash = key.size() - 17;
  if (key[slash] != '/') return false;
  session = 0;
  for (std::size_t i = slash + 1; i < key.size(); ++i) {
    const char* d = std::strchr(kHex, key[i]);
    if (key[i] == '\0' || d == nullptr) return false;
    session = session << 4 | static_cast<std::uint64_t>(d - kHex);
  }
  peer = key.substr(kDedupePrefix.size(), slash - kDedupePrefix.size());
  return !peer.empty();
}
}  // namespace

// Written ahead: the host makes these durable before it runs the handlers drained with them.
void NodeRpc::persist_dedupe() {
  for (auto& m : engine_->take_dedupe_marks()) {
    std::string k = dedupe_key(m.peer, m.session);
    if (!m.high) {
      ctx_->store_delete(k);
      continue;
    }
    Bytes v(8);
    for (int i = 0; i < 8; ++i) v[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(*m.high >> (56 - 8 * i));
    ctx_->store_put(k, std::move(v));
  }
}

// Records this protocol did not write, or damaged ones, are ignored.
void NodeRpc::restore_dedupe(const StoredRecords& records) {
  for (const auto& [k, v] : records) {
    PeerKey peer;
    std::uint64_t session = 0;
    if (v.size() != 8 || !parse_dedupe_key(k, peer, session)) continue;
    std::uint64_t high = 0;
    for (std::uint8_t b : v) high = high << 8 | b;
    engine_->restore_dedupe_mark(peer, session, high);
  }
  (void)engine_->take_dedupe_marks();  // restored, not changed: nothing to write again
}

// Engine frames to the node, one link message per peer. A peer the node cannot reach fails its
// calls now (UNAVAILABLE, idempotent ones retry elsewhere); that may queue more frames, which the
// next round sends (bounded: each call has a bounded number of attempts).
void NodeRpc::send_frames(std::uint64_t now_ms) {
  while (engine_->has_transmits()) {
    while (auto t = engine_->poll_transmit()) batcher_.push(t->peer, t->bytes);
    for (auto& [peer_key, message] : batcher_.take()) {
      auto it = peers_.find(peer_key);
      std::optional<PeerId> peer;
      if (it != peers_.end()) {
        peer = it->second;
      } else if (auto parsed = PeerId::parse(peer_key); parsed.ok()) {
        peer = *parsed;
      }
      Status s = peer ? ctx_->send(*peer, message) : unavailable("not a peer id");
      if (s.code() == Code::kUnavailable || s.code() == Code::kInvalidArgument) {
        // No route: forget the instance until a reachable ad brings it back.
        engine_->registry().remove_peer(peer_key);
        engine_->peer_unreachable(peer_key, static_cast<std::int64_t>(now_ms));
      }
    }
  }
}

void NodeRpc::on_advertisement(const Advertisement& ad, const PeerId& origin, std::uint64_t now_ms) {
  // The origin signed the broadcast or owns the link: an advertisement may only speak for it.
  if (ad.peer != key(origin)) return;
  remember_peer(ad.peer, origin);
  (void)engine_->registry().apply(ad, static_cast<std::int64_t>(now_ms));
  release_pending(now_ms, /*expired_only=*/false);
}

// Starts the waiting calls whose service is now known (or, with expired_only, whose wait is over).
void NodeRpc::release_pending(std::uint64_t now_ms, bool expired_only) {
  for (auto it = pending_.begin(); it != pending_.end();) {
    const bool known = !expired_only && engine_->registry().count(it->second.options.service, static_cast<std::int64_t>(now_ms)) > 0;
    if (!known && now_ms < it->second.until_ms) {
      ++it;
      continue;
    }
    Pending p = std::move(it->second);
    CallHandle h = it->first;
    it = pending_.erase(it);
    launch(h, std::move(p), now_ms);
  }
}

// The time spent waiting for discovery counts against the call's deadline.
void NodeRpc::launch(CallHandle handle, Pending p, std::uint64_t now_ms) {
  const auto waited = static_cast<std::int64_t>(now_ms - p.started_ms);
  if (waited > 0 && p.options.timeout_ms > 0) p.options.timeout_ms = std::max<std::int64_t>(1, p.options.timeout_ms - waited);
  (void)engine_->start_reserved_call(handle, std::move(p.options), static_cast<std::int64_t>(now_ms));  // errors arrive as kDone
}

// Gossip reaches peers this node has no address for; an instance it cannot send to is useless.
// A linked peer is routable; otherwise an empty frames message probes for a known address (and
// dials it, so the call that follows finds the link up).
// Dialing every advertiser to find out would open a link to every node of the network (and close
// it again when idle, and reopen it at the next ad): ask the node whether it knows a way instead.
bool NodeRpc::routable(const PeerId& peer) { return ctx_->knows_route(peer); }

// True with probability min(1, k / n), from the node's injected entropy.
bool NodeRpc::chance(std::size_t k, std::size_t n) {
  if (n <= k) return true;
  std::uint8_t b[4];
  ctx_->random_bytes(b);
  const std::uint32_t r = std::uint32_t{b[0]} | std::uint32_t{b[1]} << 8 | std::uint32_t{b[2]} << 16 | std::uint32_t{b[3]} << 24;
  return static_cast<std::uint64_t>(r) * n < static_cast<std::uint64_t>(k) << 32;
}

// Each node's share of the network's periodic ads stays constant: the period grows with the
// number of advertisers heard (and the TTL with it), so an idle node receives about
// 1000 / kAdPeriodPerPeerMs ads per second whatever the size of the network.
std::uint64_t NodeRpc::ad_period_ms() const {
  return std::max<std::uint64_t>(config_.ad_interval_ms, heard_from_.size() * kAdPeriodPerPeerMs);
}

Advertisement NodeRpc::own_advertisement() const {
  Advertisement ad;
  ad.peer = key(ctx_->local_id());
  ad.ttl_ms = std::max<std::uint64_t>(config_.ad_ttl_ms, 3 * ad_period_ms());
  for (const auto& s : served_) ad.services.push_back({s, {}});
  return ad;
}

void NodeRpc::send_direct_ad(const PeerId& peer) {
  (void)ctx_->send(peer, link_advertisement(own_advertisement()));  // lost: gossip ads follow
}

// When the next gossip advertisement is due: the period, or sooner after news (rate-limited).
// Answers to newcomers are spaced by heard / kNewcomerAdvertisers gaps: when many nodes join at
// once, every node hears a newcomer every gap, and answering each time (every answer reaching
// every node) kept a 100-node join busy for half a minute; this way the whole network sends about
// kNewcomerAdvertisers answers per gap.
std::uint64_t NodeRpc::ad_at() const {
  std::uint64_t at = next_ad_ms_;
  if (ad_due_) at = std::min(at, last_ad_ms_ + config_.ad_gap_ms);
  if (newcomer_ad_due_) {
    const std::uint64_t gaps = std::max<std::uint64_t>(1, heard_from_.size() / kNewcomerAdvertisers);
    at = std::min(at, last_ad_ms_ + gaps * config_.ad_gap_ms);
  }
  return at;
}

void NodeRpc::advertise(std::uint64_t now_ms) {
  if (direct_ads_due_) {
    for (const auto& info : ctx_->peers()) send_direct_ad(info.peer);
    direct_ads_due_ = false;
  }
  if (served_.empty()) return;
  // Backpressure or no neighbors yet: the next period tries again.
  (void)ctx_->publish(kAdsTopic, encode_advertisement(own_advertisement()));
  ad_due_ = newcomer_ad_due_ = false;
  last_ad_ms_ = now_ms;
  // Jittered (0.75-1.25 of the period, within the TTL of 3 periods): nodes started together
  // would otherwise re-advertise together, every ad of the network in the same instant.
  std::uint8_t b[2];
  ctx_->random_bytes(b);
  const std::uint64_t permille = 750 + (std::uint64_t{b[0]} | std::uint64_t{b[1]} << 8) % 500;
  next_ad_ms_ = now_ms + ad_period_ms() * permille / 1000;
}

void NodeRpc::remember_peer(const PeerKey& k, const PeerId& peer) {
  if (peers_.size() >= kPeerCacheMax && !peers_.count(k)) peers_.clear();
  peers_.emplace(k, peer);
}

}  // namespace nitro::rpc
