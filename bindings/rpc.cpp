// Embind glue for the RPC engine (nitro/rpc.h): JS objects <-> CallOptions / Event / Transmit.
// Glue only: every decision is the engine's. Payloads cross as raw bytes (the TS layer encodes
// them with the core codec or as JSON text); call handles are small integers, exact as doubles.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#include "bytes.h"
#include "nitro/codec.h"
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

// Metadata packed by the TS layer as "k\0v\0k\0v" (one string crossing instead of an object walk;
// the TS layer refuses NUL inside keys and values).
Result<rpc::Metadata> metadata_from_packed(const std::string& packed) {
  rpc::Metadata md;
  if (packed.empty()) return md;
  std::size_t pos = 0;
  while (pos <= packed.size()) {
    std::size_t k_end = packed.find('\0', pos);
    if (k_end == std::string::npos) return invalid_argument("malformed packed metadata");
    std::size_t v_end = packed.find('\0', k_end + 1);
    if (v_end == std::string::npos) v_end = packed.size();
    md[packed.substr(pos, k_end - pos)] = packed.substr(k_end + 1, v_end - k_end - 1);
    pos = v_end + 1;
  }
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

// drain(): every pending transmit and event in one buffer, so a flush costs one boundary
// crossing instead of dozens of property accesses. Layout (little endian), one record after another:
//   f64 next deadline (-1: none), then records:
//   u8 1, str peer, bin frame                                  a transmit
//   u8 2, u8 kind, f64 handle, u8 stream kind, str peer, ...   an event; then by kind:
//     request:   str service, str method, md, bin payload, u8 content (1 = json), f64 deadline (-1 none)
//     message:   bin payload
//     done:      str code, str message, bin payload, md, bin details (msgpack), u32 attempts
//     cancelled: str code, str message
//   str/bin = u32 length + bytes; md = u32 count + (str key, str value) pairs.
class BatchWriter {
 public:
  void u8(std::uint8_t v) { out_.push_back(v); }
  void u32(std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  void f64(double d) {
    std::uint64_t bits;
    std::memcpy(&bits, &d, sizeof bits);
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<std::uint8_t>(bits >> (8 * i)));
  }
  void bin(std::span<const std::uint8_t> b) {
    u32(static_cast<std::uint32_t>(b.size()));
    out_.insert(out_.end(), b.begin(), b.end());
  }
  void str(std::string_view s) { bin({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}); }
  void md(const rpc::Metadata& m) {
    u32(static_cast<std::uint32_t>(m.size()));
    for (const auto& [k, v] : m) { str(k); str(v); }
  }
  void event(const rpc::Event& e) {
    u8(2);
    u8(static_cast<std::uint8_t>(e.kind));
    f64(static_cast<double>(e.handle));
    u8(static_cast<std::uint8_t>(e.stream_kind));
    str(e.peer);
    switch (e.kind) {
      case rpc::EventKind::kRequest:
        str(e.service); str(e.method); md(e.metadata); bin(e.payload);
        u8(e.content_type == rpc::ContentType::kJson ? 1 : 0);
        f64(e.deadline_at_ms == rpc::kNoDeadline ? -1.0 : static_cast<double>(e.deadline_at_ms));
        break;
      case rpc::EventKind::kMessage: bin(e.payload); break;
      case rpc::EventKind::kDone:
        str(code_name(e.status.code())); str(e.status.message()); bin(e.payload); md(e.metadata);
        bin(e.details.is_nil() ? Bytes{} : codec::encode(e.details));
        u32(e.attempts);
        break;
      case rpc::EventKind::kCancelled: str(code_name(e.status.code())); str(e.status.message()); break;
      default: break;
    }
  }
  bool empty() const { return out_.empty(); }
  const Bytes& bytes() const { return out_; }
  void clear() { out_.clear(); }

 private:
  Bytes out_;
};

// Reads step() input; any overrun marks the reader failed and stops the batch.
class BatchInput {
 public:
  explicit BatchInput(std::span<const std::uint8_t> bytes) : p_(bytes.data()), n_(bytes.size()) {}
  bool done() const { return pos_ >= n_; }
  bool ok() const { return ok_; }
  std::uint8_t u8() { return need(1) ? p_[pos_++] : 0; }
  std::uint32_t u32() {
    if (!need(4)) return 0;
    std::uint32_t v = static_cast<std::uint32_t>(p_[pos_]) | static_cast<std::uint32_t>(p_[pos_ + 1]) << 8 |
                      static_cast<std::uint32_t>(p_[pos_ + 2]) << 16 | static_cast<std::uint32_t>(p_[pos_ + 3]) << 24;
    pos_ += 4;
    return v;
  }
  double f64() {
    if (!need(8)) return 0;
    double d;
    std::memcpy(&d, p_ + pos_, 8);  // wasm is little endian, like the TS writer
    pos_ += 8;
    return d;
  }
  std::span<const std::uint8_t> bin() {
    std::uint32_t len = u32();
    if (!need(len)) return {};
    std::span<const std::uint8_t> out(p_ + pos_, len);
    pos_ += len;
    return out;
  }
  std::string_view str() {
    auto b = bin();
    return {reinterpret_cast<const char*>(b.data()), b.size()};
  }

 private:
  bool need(std::size_t k) {
    if (ok_ && n_ - pos_ >= k) return true;
    ok_ = false;
    return false;
  }
  const std::uint8_t* p_;
  std::size_t n_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

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
  // step(): the TS layer's queued input in one crossing, then drain(). Records (little endian):
  //   u8 1, str peer, bin frame                                  a frame from a peer
  //   u8 2, f64 call, str code, str message, bin payload, str trailer (packed), bin details
  //                                                              a handler's respond()
  //   u8 3, f64 reserved handle, str peer, str service, str method, str metadata (packed),
  //         bin payload, u8 content, u8 kind, f64 timeout_ms, f64 attempt_timeout_ms,
  //         u8 idempotent, u32 retries, u8 strategy, str hash key    a call start (see
  //                                                              Engine::start_reserved_call)
  //   u8 4, f64 call                                             a cancel (no-op once ended)
  // Malformed frames are dropped; a respond for a call that already ended (cancelled, timed
  // out) is a no-op. The input crosses without embind marshalling: the TS layer writes it into
  // the view input_view(n) returns, then calls step(n, now_ms).
  val input_view(double n) {
    input_.resize(static_cast<std::size_t>(n));
    return val(emscripten::typed_memory_view(input_.size(), input_.data()));
  }
  val step(double n, double now_ms) {
    BatchInput in(std::span<const std::uint8_t>(input_.data(), std::min(input_.size(), static_cast<std::size_t>(n))));
    while (!in.done() && in.ok()) {
      std::uint8_t type = in.u8();
      if (type == 1) {
        std::string peer(in.str());
        auto frame = in.bin();
        if (in.ok()) (void)engine_.handle(peer, frame, ms(now_ms));
      } else if (type == 2) {
        step_respond(in, now_ms);
      } else if (type == 3) {
        step_start(in, now_ms);
      } else if (type == 4) {
        double call = in.f64();
        if (in.ok()) (void)engine_.cancel(static_cast<CallHandle>(call), ms(now_ms));
      } else {
        break;
      }
    }
    return drain();
  }

  // The batch starts with f64 next_deadline (-1: none), so scheduling needs no extra crossing.
  // Returns a view into wasm memory, valid until the next call into the engine: the TS layer
  // copies it once (one memcpy instead of embind's per-value conversions).
  val drain() {
    batch_.clear();
    auto deadline = engine_.next_deadline();
    batch_.f64(deadline ? static_cast<double>(*deadline) : -1.0);
    while (auto t = engine_.poll_transmit()) {
      batch_.u8(1);
      batch_.str(t->peer);
      batch_.bin(t->bytes);
    }
    while (auto e = engine_.poll_event()) batch_.event(*e);
    return val(emscripten::typed_memory_view(batch_.bytes().size(), batch_.bytes().data()));
  }

  void serve(std::string service) { engine_.serve(service); }
  val register_method(std::string method, std::string kind) {
    auto k = kind_from_name(kind);
    if (!k.ok()) return error_to_js(k.status());
    return status_to_js(engine_.register_method(method, *k));
  }
  void unregister_method(std::string method) { engine_.unregister_method(method); }
  // details: msgpack bytes of the error details (empty: none); trailer: packed metadata.
  val respond(double call, std::string code, std::string message, const std::string& payload, std::string trailer,
              const std::string& details, double now_ms) {
    Value d;
    Bytes details_bytes(details.begin(), details.end());
    if (!details_bytes.empty()) {
      auto v = codec::decode(details_bytes);
      if (!v.ok()) return error_to_js(v.status());
      d = std::move(*v);
    }
    auto md = metadata_from_packed(trailer);
    if (!md.ok()) return error_to_js(md.status());
    Status s = code == "OK" ? Status{} : Status(code_from_name(code), message);
    return status_to_js(engine_.respond(static_cast<CallHandle>(call), s, Bytes(payload.begin(), payload.end()), *md, d, ms(now_ms)));
  }

  // Positional arguments (no option object to walk): kinds and strategies are the enum values.
  val start_call(std::string peer, std::string service, std::string method, std::string metadata, const std::string& payload,
                 int content_type, int kind, double timeout_ms, double attempt_timeout_ms, bool idempotent,
                 double retries, int strategy, std::string key, double now_ms) {
    rpc::CallOptions c;
    auto md = metadata_from_packed(metadata);
    if (!md.ok()) return error_to_js(md.status());
    if (kind < 0 || kind > 3 || strategy < 0 || strategy > 2) return error_to_js(invalid_argument("bad kind or strategy"));
    c.peer = std::move(peer);
    c.service = std::move(service);
    c.method = std::move(method);
    c.metadata = std::move(*md);
    c.payload.assign(payload.begin(), payload.end());
    c.content_type = content_type == 1 ? rpc::ContentType::kJson : rpc::ContentType::kMsgpack;
    c.kind = static_cast<StreamKind>(kind);
    c.timeout_ms = ms(timeout_ms);
    c.attempt_timeout_ms = ms(attempt_timeout_ms);
    c.idempotent = idempotent;
    c.retries = static_cast<std::uint32_t>(retries);
    c.strategy = static_cast<rpc::Strategy>(strategy);
    c.hash_key = std::move(key);
    auto h = engine_.start_call(std::move(c), ms(now_ms));
    if (!h.ok()) return error_to_js(h.status());
    return val(static_cast<double>(*h));
  }
  double reserve_handles(double n) { return static_cast<double>(engine_.reserve_handles(static_cast<std::uint32_t>(n))); }
  val cancel(double call, double now_ms) { return status_to_js(engine_.cancel(static_cast<CallHandle>(call), ms(now_ms))); }
  val end_stream(double call, double now_ms) { return status_to_js(engine_.end_stream(static_cast<CallHandle>(call), ms(now_ms))); }
  val send(double call, const std::string& bytes, double now_ms) {
    return status_to_js(engine_.send(static_cast<CallHandle>(call), Bytes(bytes.begin(), bytes.end()), ms(now_ms)));
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
  // How many live instances `service` has: the cheap question asked before every call.
  double registry_count(std::string service, double now_ms) {
    return static_cast<double>(engine_.registry().count(service, ms(now_ms)));
  }
  // `origin`: the verified publisher ('' = unchecked); an ad may only speak for its origin.
  val apply_advertisement(val bytes, std::string origin, double now_ms) {
    auto ad = rpc::decode_advertisement(bytes_from_js(bytes));
    if (!ad.ok()) return error_to_js(ad.status());
    if (!origin.empty() && ad->peer != origin) return error_to_js(permission_denied("advertisement for another peer"));
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

  void step_start(BatchInput& in, double now_ms) {
    auto handle = static_cast<CallHandle>(in.f64());
    rpc::CallOptions c;
    c.peer = in.str();
    c.service = in.str();
    c.method = in.str();
    auto md = metadata_from_packed(std::string(in.str()));
    auto payload = in.bin();
    c.payload.assign(payload.begin(), payload.end());
    c.content_type = in.u8() == 1 ? rpc::ContentType::kJson : rpc::ContentType::kMsgpack;
    std::uint8_t kind = in.u8();
    c.timeout_ms = ms(in.f64());
    c.attempt_timeout_ms = ms(in.f64());
    c.idempotent = in.u8() != 0;
    c.retries = in.u32();
    std::uint8_t strategy = in.u8();
    c.hash_key = in.str();
    if (!in.ok()) return;
    if (md.ok()) c.metadata = std::move(*md);
    c.kind = static_cast<StreamKind>(kind <= 3 ? kind : 0);
    c.strategy = static_cast<rpc::Strategy>(strategy <= 2 ? strategy : 1);
    if (kind > 3 || strategy > 2 || !md.ok()) c.timeout_ms = 0;  // rejected, reported as kDone
    (void)engine_.start_reserved_call(handle, std::move(c), ms(now_ms));  // errors arrive as kDone
  }

  void step_respond(BatchInput& in, double now_ms) {
    double call = in.f64();
    std::string code(in.str());
    std::string message(in.str());
    auto payload = in.bin();
    auto trailer = metadata_from_packed(std::string(in.str()));
    auto details = in.bin();
    if (!in.ok() || !trailer.ok()) return;
    Value d;
    if (!details.empty()) {
      auto v = codec::decode(details);
      if (v.ok()) d = std::move(*v);
    }
    Status s = code == "OK" ? Status{} : Status(code_from_name(code), message);
    (void)engine_.respond(static_cast<CallHandle>(call), s, Bytes(payload.begin(), payload.end()), *trailer, d, ms(now_ms));
  }

  rpc::Engine engine_;
  BatchWriter batch_;
  Bytes input_;  // step() input, written by the TS layer through input_view()
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
      .function("drain", &RpcEngineJs::drain)
      .function("step", &RpcEngineJs::step)
      .function("inputView", &RpcEngineJs::input_view)
      .function("nextDeadline", &RpcEngineJs::next_deadline)
      .function("peerDown", &RpcEngineJs::peer_down)
      .function("serve", &RpcEngineJs::serve)
      .function("registerMethod", &RpcEngineJs::register_method)
      .function("unregisterMethod", &RpcEngineJs::unregister_method)
      .function("respond", &RpcEngineJs::respond)
      .function("startCall", &RpcEngineJs::start_call)
      .function("reserveHandles", &RpcEngineJs::reserve_handles)
      .function("cancel", &RpcEngineJs::cancel)
      .function("endStream", &RpcEngineJs::end_stream)
      .function("send", &RpcEngineJs::send)
      .function("sendCredit", &RpcEngineJs::send_credit)
      .function("consumed", &RpcEngineJs::consumed)
      .function("registryUpsert", &RpcEngineJs::registry_upsert)
      .function("registryRemove", &RpcEngineJs::registry_remove)
      .function("registryInstances", &RpcEngineJs::registry_instances)
      .function("registryCount", &RpcEngineJs::registry_count)
      .function("applyAdvertisement", &RpcEngineJs::apply_advertisement)
      .function("activeCalls", &RpcEngineJs::active_calls);
  emscripten::function("rpcEncodeAdvertisement", &nitro::bind::encode_advertisement);
}
