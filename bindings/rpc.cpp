// Embind glue for RPC: conversion only. Two classes over the same core code:
//   * "RpcNode": the node composition (nitro/rpc_node.h) attached to a NodeCore — what every
//     createNode node runs. JS calls it through node.run() so the node drains what it sends.
//   * "RpcEngine": a bare engine (nitro/rpc.h) for RPC without a node (SocketLink, MemoryNetwork).
// Host batches (step input, drain output) are the core's format (nitro/rpc_batch.h); they cross as
// views of wasm memory, copied once by JS. Handles and times from JS are checked (convert.h):
// a bad one is an INVALID_ARGUMENT value, never a cast or an exception.
#include <algorithm>
#include <cstdint>
#include <set>
#include <string>

#include "convert.h"
#include "node_core.h"
#include "nitro/codec.h"
#include "nitro/rpc.h"
#include "nitro/rpc_batch.h"
#include "nitro/rpc_node.h"

namespace nitro::bind {
namespace {

using rpc::CallHandle;
using rpc::StreamKind;

Result<StreamKind> kind_from_name(const std::string& name) {
  for (auto k : {StreamKind::kUnary, StreamKind::kServerStream, StreamKind::kClientStream, StreamKind::kBidi}) {
    if (name == rpc::stream_kind_name(k)) return k;
  }
  return invalid_argument("unknown stream kind '" + name + "'");
}

Result<CallHandle> handle_from_js(double v) {
  auto h = safe_u64(v);
  if (!h || *h == 0) return invalid_argument("call handle must be a positive safe integer");
  return *h;
}

Result<std::int64_t> now_from_js(double v) {
  auto t = time_ms(v);
  if (!t) return invalid_argument("nowMs must be a finite, non-negative number");
  return static_cast<std::int64_t>(*t);
}

val metadata_to_js(const rpc::Metadata& md) {
  val obj = val::object();
  for (const auto& [k, v] : md) obj.set(k, v);
  return obj;
}

Result<rpc::Metadata> metadata_from_js(const val& obj) {
  rpc::Metadata md;
  if (obj.isUndefined() || obj.isNull()) return md;
  val entries = val::global("Object").call<val>("entries", obj);
  const auto n = entries["length"].as<std::size_t>();
  for (std::size_t i = 0; i < n; ++i) {
    if (!entries[i][1].isString()) return invalid_argument("metadata values must be strings");
    md[entries[i][0].as<std::string>()] = entries[i][1].as<std::string>();
  }
  return md;
}

// Options JS may set: { window, retransmitMs, name, adTtlMs, adIntervalMs, discoveryWaitMs },
// over the defaults of a bare engine or of a node's (`config`).
Result<rpc::EngineConfig> engine_config_from_js(const val& c, rpc::EngineConfig config = {}) {
  if (c.isUndefined() || c.isNull()) return config;
  NITRO_TRY(read_u64_field(c, "window", config.window));
  std::uint64_t retransmit = 0;
  NITRO_TRY(read_u64_field(c, "retransmitMs", retransmit));
  config.retransmit_ms = static_cast<std::int64_t>(retransmit);
  NITRO_TRY(rpc::validate(config));
  return config;
}

Result<rpc::NodeRpcConfig> node_config_from_js(const val& c) {
  rpc::NodeRpcConfig config;
  auto engine = engine_config_from_js(c, rpc::node_engine_defaults());
  if (!engine.ok()) return engine.status();
  config.engine = *engine;
  config.emit_events = true;
  if (c.isUndefined() || c.isNull()) return config;
  if (c["name"].isString()) config.name = c["name"].as<std::string>();
  NITRO_TRY(read_u64_field(c, "adTtlMs", config.ad_ttl_ms));
  NITRO_TRY(read_u64_field(c, "adIntervalMs", config.ad_interval_ms));
  NITRO_TRY(read_u64_field(c, "discoveryWaitMs", config.discovery_wait_ms_max));
  NITRO_TRY(rpc::validate(config));
  return config;
}

val instances_to_js(const std::vector<rpc::Instance>& list) {
  val out = val::array();
  for (std::size_t i = 0; i < list.size(); ++i) {
    val o = val::object();
    o.set("peer", list[i].peer);
    o.set("metadata", metadata_to_js(list[i].metadata));
    o.set("expiresAtMs", list[i].expires_at_ms == rpc::kNoDeadline ? val::null() : val(static_cast<double>(list[i].expires_at_ms)));
    out.set(i, o);
  }
  return out;
}

// The calls both classes share, over one engine. `Self` supplies engine() and after(now).
template <typename Self>
class EngineCalls {
 public:
  val input_view(double n) {
    auto size = safe_u64(n);
    input_.resize(size ? static_cast<std::size_t>(std::min<std::uint64_t>(*size, kInputBytesMax)) : 0);
    return view_to_js(input_);
  }
  val serve(std::string service) {
    self().serve_service(service);
    return val::null();
  }
  val register_method(std::string method, std::string kind) {
    auto k = kind_from_name(kind);
    if (!k.ok()) return error_to_js(k.status());
    return error_or_null(self().engine().register_method(method, *k));
  }
  void unregister_method(std::string method) { self().engine().unregister_method(method); }
  double reserve_handles(double n) {
    auto count = safe_u64(n);
    return static_cast<double>(self().engine().reserve_handles(static_cast<std::uint32_t>(std::min<std::uint64_t>(count.value_or(0), 1u << 16))));
  }
  val end_stream(double call, double now_ms) { return with_call(call, now_ms, [&](CallHandle h, std::int64_t now) { return self().engine().end_stream(h, now); }); }
  val send(double call, const std::string& bytes, double now_ms) {
    return with_call(call, now_ms, [&](CallHandle h, std::int64_t now) { return self().engine().send(h, Bytes(bytes.begin(), bytes.end()), now); });
  }
  // Response headers of a server call (packed metadata, nitro/rpc_batch.h).
  val set_header(double call, std::string packed) {
    auto h = handle_from_js(call);
    auto md = rpc::unpack_metadata(packed);
    if (!h.ok()) return error_to_js(h.status());
    if (!md.ok()) return error_to_js(md.status());
    return error_or_null(self().engine().set_header(*h, std::move(*md)));
  }
  double send_credit(double call) {
    auto h = handle_from_js(call);
    return h.ok() ? static_cast<double>(self().engine().send_credit(*h)) : 0.0;
  }
  val consumed(double call, double n, double now_ms) {
    auto count = safe_u64(n);
    if (!count || *count > UINT32_MAX) return error_to_js(invalid_argument("consumed count must be a safe integer"));
    return with_call(call, now_ms, [&](CallHandle h, std::int64_t now) { return self().engine().consumed(h, static_cast<std::uint32_t>(*count), now); });
  }
  val registry_upsert(std::string service, std::string peer, val metadata, double ttl_ms, double now_ms) {
    auto md = metadata_from_js(metadata);
    auto ttl = safe_u64(ttl_ms);
    auto now = now_from_js(now_ms);
    if (!md.ok()) return error_to_js(md.status());
    if (!ttl) return error_to_js(invalid_argument("ttlMs must be a non-negative safe integer"));
    if (!now.ok()) return error_to_js(now.status());
    return error_or_null(self().engine().registry().upsert(service, peer, *md, *ttl, *now));
  }
  void registry_remove(std::string service, std::string peer) { self().engine().registry().remove(service, peer); }
  val registry_instances(std::string service, double now_ms) {
    auto now = now_from_js(now_ms);
    if (!now.ok()) return error_to_js(now.status());
    return instances_to_js(self().engine().registry().instances(service, *now));
  }
  double registry_count(std::string service, double now_ms) {
    auto now = now_from_js(now_ms);
    return now.ok() ? static_cast<double>(self().engine().registry().count(service, *now)) : 0.0;
  }
  val registry_services(double now_ms) {
    auto now = now_from_js(now_ms);
    val out = val::array();
    if (!now.ok()) return out;
    std::size_t i = 0;
    for (const auto& name : self().engine().registry().services(*now)) out.set(i++, name);
    return out;
  }
  int active_calls() { return static_cast<int>(self().engine().active_calls()); }

  // A stream call (unary calls cross in step()). Kinds and strategies are the core's enum values;
  // metadata is packed (nitro/rpc_batch.h). Returns the handle, or an error value for bad input.
  val start_stream(std::string peer, std::string service, std::string method, std::string metadata, const std::string& payload,
                   int content_type, int kind, double timeout_ms, double attempt_timeout_ms, bool idempotent,
                   double retries, int strategy, std::string key, double now_ms) {
    auto md = rpc::unpack_metadata(metadata);
    auto timeout = time_ms(timeout_ms);
    auto attempt_timeout = time_ms(attempt_timeout_ms);
    auto tries = safe_u64(retries);
    auto now = now_from_js(now_ms);
    if (!md.ok()) return error_to_js(md.status());
    if (kind < 0 || kind > 3 || strategy < 0 || strategy > 2) return error_to_js(invalid_argument("bad kind or strategy"));
    if (content_type < 0 || content_type > rpc::kContentTypeMax) return error_to_js(invalid_argument("bad content type"));
    if (!timeout || !attempt_timeout) return error_to_js(invalid_argument("timeouts must be finite, non-negative numbers"));
    if (!tries || *tries > UINT32_MAX) return error_to_js(invalid_argument("retries must be a non-negative safe integer"));
    if (!now.ok()) return error_to_js(now.status());
    rpc::CallOptions c;
    c.peer = std::move(peer);
    c.service = std::move(service);
    c.method = std::move(method);
    c.metadata = std::move(*md);
    c.payload.assign(payload.begin(), payload.end());
    c.content_type = static_cast<rpc::ContentType>(content_type);
    c.kind = static_cast<StreamKind>(kind);
    c.timeout_ms = static_cast<std::int64_t>(*timeout);
    c.attempt_timeout_ms = static_cast<std::int64_t>(*attempt_timeout);
    c.idempotent = idempotent;
    c.retries = static_cast<std::uint32_t>(*tries);
    c.strategy = static_cast<rpc::Strategy>(strategy);
    c.hash_key = std::move(key);
    auto h = self().begin(std::move(c), *now);
    self().after(static_cast<std::uint64_t>(*now));
    if (!h.ok()) return error_to_js(h.status());
    return val(static_cast<double>(*h));
  }

 protected:
  static constexpr std::uint64_t kInputBytesMax = 64u << 20;

  template <typename F>
  val with_call(double call, double now_ms, F&& f) {
    auto h = handle_from_js(call);
    if (!h.ok()) return error_to_js(h.status());
    auto now = now_from_js(now_ms);
    if (!now.ok()) return error_to_js(now.status());
    Status s = f(*h, *now);
    self().after(static_cast<std::uint64_t>(*now));
    return error_or_null(s);
  }
  std::span<const std::uint8_t> input(double n) const {
    auto size = safe_u64(n);
    return {input_.data(), std::min<std::size_t>(input_.size(), size.value_or(0))};
  }
  Self& self() { return static_cast<Self&>(*this); }

  Bytes input_;   // step() input, written by JS through input_view()
  Bytes output_;  // the last drain batch, read by JS through a view
};

// The node composition on a NodeCore.
class RpcNodeJs : public EngineCalls<RpcNodeJs> {
 public:
  RpcNodeJs(NodeCore& core, rpc::NodeRpc& rpc) : core_(core), rpc_(rpc) {}

  rpc::Engine& engine() { return rpc_.engine(); }
  void serve_service(const std::string& service) { rpc_.serve(service); }
  void after(std::uint64_t now_ms) { rpc_.flush(now_ms); }

  // The JS host's queued input in one crossing; returns a view of the drain batch (the events it
  // caused; frames went to the node, which the caller drains).
  val step(double n, double now_ms) {
    auto now = now_from_js(now_ms);
    output_.clear();
    if (!now.ok()) return error_to_js(now.status());
    (void)rpc_.step(input(n), static_cast<std::uint64_t>(*now), output_);  // malformed input: refused there
    return view_to_js(output_);
  }
  val cancel(double call, double now_ms) {
    return with_call(call, now_ms, [&](CallHandle h, std::int64_t now) { return rpc_.cancel(h, static_cast<std::uint64_t>(now)); });
  }
  Result<CallHandle> begin(rpc::CallOptions c, std::int64_t now) { return rpc_.start_call(std::move(c), static_cast<std::uint64_t>(now)); }
  std::string id() const { return rpc::NodeRpc::key(core_.node().id()); }

 private:
  NodeCore& core_;
  rpc::NodeRpc& rpc_;
};

// A bare engine for RPC without a node; the JS side moves its frames over a link.
class RpcEngineJs : public EngineCalls<RpcEngineJs> {
 public:
  RpcEngineJs(std::unique_ptr<rpc::Engine> engine) : engine_(std::move(engine)) {}

  rpc::Engine& engine() { return *engine_; }
  void serve_service(const std::string& service) {
    engine_->serve(service);
    served_.insert(service);
  }
  void after(std::uint64_t) {}
  Result<CallHandle> begin(rpc::CallOptions c, std::int64_t now) { return engine_->start_call(std::move(c), now); }

  void tick(double now_ms) {
    if (auto now = now_from_js(now_ms); now.ok()) engine_->tick(*now);
  }
  void peer_down(std::string peer, double now_ms) {
    if (auto now = now_from_js(now_ms); now.ok()) engine_->peer_down(peer, *now);
  }
  val cancel(double call, double now_ms) {
    return with_call(call, now_ms, [&](CallHandle h, std::int64_t now) { return engine_->cancel(h, now); });
  }
  // Frames from peers, responses, starts and cancels in one crossing; returns a view of the drain
  // batch with the transmits (the JS link sends them) and the events.
  val step(double n, double now_ms) {
    auto now = now_from_js(now_ms);
    output_.clear();
    if (!now.ok()) return error_to_js(now.status());
    (void)rpc::apply_step(*engine_, input(n), *now);
    rpc::write_drain(*engine_, engine_->next_deadline(), /*with_transmits=*/true, output_);
    return view_to_js(output_);
  }
  // This engine's advertisement of the services it serves (for a host that spreads it).
  val advertisement(double ttl_ms) {
    auto ttl = safe_u64(ttl_ms);
    if (!ttl) return error_to_js(invalid_argument("ttlMs must be a non-negative safe integer"));
    rpc::Advertisement ad;
    ad.peer = engine_->self();
    ad.ttl_ms = *ttl;
    for (const auto& s : served_) ad.services.push_back({s, {}});
    return bytes_to_js(rpc::encode_advertisement(ad));
  }
  // `origin`: the verified publisher ('' = unchecked); an ad may only speak for its origin.
  val apply_advertisement(val bytes, std::string origin, double now_ms) {
    auto now = now_from_js(now_ms);
    if (!now.ok()) return error_to_js(now.status());
    auto ad = rpc::decode_advertisement(bytes_from_js(bytes), engine_->limits());
    if (!ad.ok()) return error_to_js(ad.status());
    if (!origin.empty() && ad->peer != origin) return error_to_js(permission_denied("advertisement for another peer"));
    return error_or_null(engine_->registry().apply(*ad, *now));
  }

 private:
  std::unique_ptr<rpc::Engine> engine_;
  std::set<std::string> served_;
};

val rpc_engine_create(std::string self, double seed, val config) {
  auto s = safe_u64(seed);
  if (!s) return error_to_js(invalid_argument("seed must be a non-negative safe integer"));
  auto c = engine_config_from_js(config);
  if (!c.ok()) return error_to_js(c.status());
  auto engine = rpc::Engine::create(std::move(self), *s, *c);
  if (!engine.ok()) return error_to_js(engine.status());
  return val(RpcEngineJs(std::move(*engine)));
}

// Attaches the RPC composition to a node under channel "rpc"; returns the RpcNode or an error.
val rpc_attach(NodeCore& core, val config) {
  auto c = node_config_from_js(config);
  if (!c.ok()) return error_to_js(c.status());
  auto p = rpc::NodeRpc::create(std::move(*c));
  if (!p.ok()) return error_to_js(p.status());
  rpc::NodeRpc& rpc = **p;
  Status s = core.node().add_protocol(rpc::kNodeChannel, std::move(*p));
  if (!s.ok()) return error_to_js(s);
  return val(RpcNodeJs(core, rpc));
}

// The shared calls are members of EngineCalls<T>; embind needs them as members of T itself.
template <typename T, typename R, typename B, typename... A>
auto as_member_of(R (B::*f)(A...)) {
  return static_cast<R (T::*)(A...)>(f);
}

template <typename C, typename T>
void shared_functions(C& c) {
  c.function("inputView", as_member_of<T>(&T::input_view))
      .function("step", as_member_of<T>(&T::step))
      .function("serve", as_member_of<T>(&T::serve))
      .function("registerMethod", as_member_of<T>(&T::register_method))
      .function("unregisterMethod", as_member_of<T>(&T::unregister_method))
      .function("reserveHandles", as_member_of<T>(&T::reserve_handles))
      .function("cancel", as_member_of<T>(&T::cancel))
      .function("endStream", as_member_of<T>(&T::end_stream))
      .function("send", as_member_of<T>(&T::send))
      .function("sendCredit", as_member_of<T>(&T::send_credit))
      .function("setHeader", as_member_of<T>(&T::set_header))
      .function("consumed", as_member_of<T>(&T::consumed))
      .function("registryUpsert", as_member_of<T>(&T::registry_upsert))
      .function("registryRemove", as_member_of<T>(&T::registry_remove))
      .function("registryInstances", as_member_of<T>(&T::registry_instances))
      .function("registryCount", as_member_of<T>(&T::registry_count))
      .function("registryServices", as_member_of<T>(&T::registry_services))
      .function("activeCalls", as_member_of<T>(&T::active_calls))
      .function("startStream", as_member_of<T>(&T::start_stream));
}

}  // namespace
}  // namespace nitro::bind

EMSCRIPTEN_BINDINGS(nitro_rpc) {
  using nitro::bind::RpcEngineJs;
  using nitro::bind::RpcNodeJs;
  auto node = emscripten::class_<RpcNodeJs>("RpcNode");
  nitro::bind::shared_functions<decltype(node), RpcNodeJs>(node);
  node.function("id", &RpcNodeJs::id);
  auto engine = emscripten::class_<RpcEngineJs>("RpcEngine");
  nitro::bind::shared_functions<decltype(engine), RpcEngineJs>(engine);
  engine.function("tick", &RpcEngineJs::tick)
      .function("peerDown", &RpcEngineJs::peer_down)
      .function("advertisement", &RpcEngineJs::advertisement)
      .function("applyAdvertisement", &RpcEngineJs::apply_advertisement);
  emscripten::function("rpcEngineCreate", &nitro::bind::rpc_engine_create);
  emscripten::function("rpcAttach", &nitro::bind::rpc_attach);
}
