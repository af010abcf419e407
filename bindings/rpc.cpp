// Embind glue for the RPC engine (nitro/rpc.h): JS objects <-> CallOptions / Event / Transmit.
// Glue only: every decision is the engine's. Payloads cross as raw bytes (the TS layer encodes
// them with the core codec or as JSON text); call handles are small integers, exact as doubles.
#include <cstdint>
#include <string>

#include "bytes.h"
#include "nitro/rpc.h"

namespace nitro::bind {
namespace {

using rpc::CallHandle;
using rpc::StreamKind;

std::int64_t ms(double v) { return static_cast<std::int64_t>(v); }

val status_to_js(const Status& s) { return s.ok() ? val::null() : error_to_js(s); }

Code code_from_name(const std::string& name) {
  for (int c = 0; c <= 16; ++c) {
    if (name == code_name(static_cast<Code>(c))) return static_cast<Code>(c);
  }
  if (name == code_name(Code::kDecodeError)) return Code::kDecodeError;
  return Code::kUnknown;
}

Result<StreamKind> kind_from_name(const std::string& name) {
  for (auto k : {StreamKind::kUnary, StreamKind::kServerStream, StreamKind::kClientStream, StreamKind::kBidi}) {
    if (name == rpc::stream_kind_name(k)) return k;
  }
  return invalid_argument("unknown stream kind '" + name + "'");
}

rpc::Metadata metadata_from_js(const val& obj) {
  rpc::Metadata md;
  if (obj.isUndefined() || obj.isNull()) return md;
  val entries = val::global("Object").call<val>("entries", obj);
  const auto n = entries["length"].as<std::size_t>();
  for (std::size_t i = 0; i < n; ++i) md[entries[i][0].as<std::string>()] = entries[i][1].as<std::string>();
  return md;
}

val metadata_to_js(const rpc::Metadata& md) {
  val obj = val::object();
  for (const auto& [k, v] : md) obj.set(k, v);
  return obj;
}

template <typename T>
T get_or(const val& obj, const char* key, T fallback) {
  val v = obj[key];
  return v.isUndefined() || v.isNull() ? fallback : v.as<T>();
}

const char* event_kind_name(rpc::EventKind k) {
  switch (k) {
    case rpc::EventKind::kRequest: return "request";
    case rpc::EventKind::kMessage: return "message";
    case rpc::EventKind::kHalfClose: return "halfClose";
    case rpc::EventKind::kDone: return "done";
    case rpc::EventKind::kCancelled: return "cancelled";
    case rpc::EventKind::kWritable: return "writable";
  }
  return "done";
}

Result<rpc::CallOptions> options_from_js(const val& o) {
  rpc::CallOptions c;
  c.peer = get_or<std::string>(o, "peer", "");
  c.service = get_or<std::string>(o, "service", "");
  c.method = get_or<std::string>(o, "method", "");
  c.metadata = metadata_from_js(o["metadata"]);
  if (!o["payload"].isUndefined()) c.payload = bytes_from_js(o["payload"]);
  c.content_type = get_or<std::string>(o, "contentType", "msgpack") == "json" ? rpc::ContentType::kJson : rpc::ContentType::kMsgpack;
  auto kind = kind_from_name(get_or<std::string>(o, "kind", "unary"));
  if (!kind.ok()) return kind.status();
  c.kind = *kind;
  c.timeout_ms = ms(get_or<double>(o, "timeoutMs", 30000));
  c.attempt_timeout_ms = ms(get_or<double>(o, "attemptTimeoutMs", 0));
  c.idempotent = get_or<bool>(o, "idempotent", false);
  c.retries = static_cast<std::uint32_t>(get_or<double>(o, "retries", 0));
  std::string strategy = get_or<std::string>(o, "strategy", "round-robin");
  c.strategy = strategy == "random" ? rpc::Strategy::kRandom
               : strategy == "hash" ? rpc::Strategy::kConsistentHash : rpc::Strategy::kRoundRobin;
  c.hash_key = get_or<std::string>(o, "key", "");
  return c;
}

val event_to_js(rpc::Event& e) {
  val o = val::object();
  o.set("kind", std::string(event_kind_name(e.kind)));
  o.set("handle", static_cast<double>(e.handle));
  o.set("peer", e.peer);
  o.set("streamKind", std::string(rpc::stream_kind_name(e.stream_kind)));
  switch (e.kind) {
    case rpc::EventKind::kRequest:
      o.set("service", e.service);
      o.set("method", e.method);
      o.set("metadata", metadata_to_js(e.metadata));
      o.set("payload", bytes_to_js(e.payload));
      o.set("contentType", std::string(e.content_type == rpc::ContentType::kJson ? "json" : "msgpack"));
      o.set("deadlineAtMs", e.deadline_at_ms == rpc::kNoDeadline ? val::null() : val(static_cast<double>(e.deadline_at_ms)));
      break;
    case rpc::EventKind::kMessage:
      o.set("payload", bytes_to_js(e.payload));
      break;
    case rpc::EventKind::kDone:
      o.set("payload", bytes_to_js(e.payload));
      o.set("metadata", metadata_to_js(e.metadata));
      o.set("details", value_to_js(e.details));
      o.set("attempts", e.attempts);
      [[fallthrough]];
    case rpc::EventKind::kCancelled:
      o.set("code", std::string(code_name(e.status.code())));
      o.set("message", e.status.message());
      break;
    default: break;
  }
  return o;
}

class RpcEngineJs {
 public:
  RpcEngineJs(std::string self, double seed, val config) : engine_(std::move(self), static_cast<std::uint64_t>(seed), config_from_js(config)) {}

  val handle(std::string from, val bytes, double now_ms) { return status_to_js(engine_.handle(from, bytes_from_js(bytes), ms(now_ms))); }
  void tick(double now_ms) { engine_.tick(ms(now_ms)); }
  val poll_transmit() {
    auto t = engine_.poll_transmit();
    if (!t) return val::null();
    val o = val::object();
    o.set("peer", t->peer);
    o.set("bytes", bytes_to_js(t->bytes));
    return o;
  }
  val poll_event() {
    auto e = engine_.poll_event();
    return e ? event_to_js(*e) : val::null();
  }
  val next_deadline() const {
    auto d = engine_.next_deadline();
    return d ? val(static_cast<double>(*d)) : val::null();
  }
  void peer_down(std::string peer, double now_ms) { engine_.peer_down(peer, ms(now_ms)); }

  void serve(std::string service) { engine_.serve(service); }
  val register_method(std::string method, std::string kind) {
    auto k = kind_from_name(kind);
    if (!k.ok()) return error_to_js(k.status());
    return status_to_js(engine_.register_method(method, *k));
  }
  void unregister_method(std::string method) { engine_.unregister_method(method); }
  val respond(double call, std::string code, std::string message, val payload, val trailer, val details, double now_ms) {
    Value d;
    if (!details.isUndefined()) {
      auto v = value_from_js(details);
      if (v.ok()) d = std::move(*v);
    }
    Status s = code == "OK" ? Status{} : Status(code_from_name(code), message);
    return status_to_js(engine_.respond(static_cast<CallHandle>(call), s, payload.isUndefined() ? Bytes{} : bytes_from_js(payload),
                                        metadata_from_js(trailer), d, ms(now_ms)));
  }

  val start_call(val options, double now_ms) {
    auto o = options_from_js(options);
    if (!o.ok()) return error_to_js(o.status());
    auto h = engine_.start_call(std::move(*o), ms(now_ms));
    if (!h.ok()) return error_to_js(h.status());
    return val(static_cast<double>(*h));
  }
  val cancel(double call, double now_ms) { return status_to_js(engine_.cancel(static_cast<CallHandle>(call), ms(now_ms))); }
  val end_stream(double call, double now_ms) { return status_to_js(engine_.end_stream(static_cast<CallHandle>(call), ms(now_ms))); }
  val send(double call, val bytes, double now_ms) {
    return status_to_js(engine_.send(static_cast<CallHandle>(call), bytes_from_js(bytes), ms(now_ms)));
  }
  double send_credit(double call) const { return static_cast<double>(engine_.send_credit(static_cast<CallHandle>(call))); }
  val consumed(double call, double n, double now_ms) {
    return status_to_js(engine_.consumed(static_cast<CallHandle>(call), static_cast<std::uint32_t>(n), ms(now_ms)));
  }

  // Discovery.
  val registry_upsert(std::string service, std::string peer, val metadata, double ttl_ms, double now_ms) {
    return status_to_js(engine_.registry().upsert(service, peer, metadata_from_js(metadata), static_cast<std::uint64_t>(ttl_ms), ms(now_ms)));
  }
  void registry_remove(std::string service, std::string peer) { engine_.registry().remove(service, peer); }
  val registry_instances(std::string service, double now_ms) {
    val out = val::array();
    auto list = engine_.registry().instances(service, ms(now_ms));
    for (std::size_t i = 0; i < list.size(); ++i) {
      val o = val::object();
      o.set("peer", list[i].peer);
      o.set("metadata", metadata_to_js(list[i].metadata));
      o.set("expiresAtMs", list[i].expires_at_ms == rpc::kNoDeadline ? val::null() : val(static_cast<double>(list[i].expires_at_ms)));
      out.set(i, o);
    }
    return out;
  }
  val apply_advertisement(val bytes, double now_ms) {
    auto ad = rpc::decode_advertisement(bytes_from_js(bytes));
    if (!ad.ok()) return error_to_js(ad.status());
    return status_to_js(engine_.registry().apply(*ad, ms(now_ms)));
  }
  int active_calls() const { return static_cast<int>(engine_.active_calls()); }

 private:
  static rpc::EngineConfig config_from_js(const val& c) {
    rpc::EngineConfig config;
    if (c.isUndefined() || c.isNull()) return config;
    config.window = static_cast<std::uint32_t>(get_or<double>(c, "window", config.window));
    if (config.window == 0 || config.window > config.limits.window_max) config.window = rpc::EngineConfig{}.window;
    config.retransmit_ms = ms(get_or<double>(c, "retransmitMs", 0));
    return config;
  }

  rpc::Engine engine_;
};

// [service names], ttlMs -> advertisement bytes for `peer`.
val encode_advertisement(std::string peer, val services, double ttl_ms) {
  rpc::Advertisement ad;
  ad.peer = std::move(peer);
  ad.ttl_ms = static_cast<std::uint64_t>(ttl_ms);
  const auto n = services["length"].as<std::size_t>();
  for (std::size_t i = 0; i < n; ++i) ad.services.push_back({services[i].as<std::string>(), {}});
  return bytes_to_js(rpc::encode_advertisement(ad));
}

}  // namespace
}  // namespace nitro::bind

EMSCRIPTEN_BINDINGS(nitro_rpc) {
  using nitro::bind::RpcEngineJs;
  emscripten::class_<RpcEngineJs>("RpcEngine")
      .constructor<std::string, double, emscripten::val>()
      .function("handle", &RpcEngineJs::handle)
      .function("tick", &RpcEngineJs::tick)
      .function("pollTransmit", &RpcEngineJs::poll_transmit)
      .function("pollEvent", &RpcEngineJs::poll_event)
      .function("nextDeadline", &RpcEngineJs::next_deadline)
      .function("peerDown", &RpcEngineJs::peer_down)
      .function("serve", &RpcEngineJs::serve)
      .function("registerMethod", &RpcEngineJs::register_method)
      .function("unregisterMethod", &RpcEngineJs::unregister_method)
      .function("respond", &RpcEngineJs::respond)
      .function("startCall", &RpcEngineJs::start_call)
      .function("cancel", &RpcEngineJs::cancel)
      .function("endStream", &RpcEngineJs::end_stream)
      .function("send", &RpcEngineJs::send)
      .function("sendCredit", &RpcEngineJs::send_credit)
      .function("consumed", &RpcEngineJs::consumed)
      .function("registryUpsert", &RpcEngineJs::registry_upsert)
      .function("registryRemove", &RpcEngineJs::registry_remove)
      .function("registryInstances", &RpcEngineJs::registry_instances)
      .function("applyAdvertisement", &RpcEngineJs::apply_advertisement)
      .function("activeCalls", &RpcEngineJs::active_calls);
  emscripten::function("rpcEncodeAdvertisement", &nitro::bind::encode_advertisement);
}
