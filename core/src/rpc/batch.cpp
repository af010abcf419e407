// Link messages and host batches of the RPC composition (see nitro/rpc_batch.h).
#include "nitro/rpc_batch.h"

#include <cstring>

#include "nitro/codec.h"

namespace nitro::rpc {
namespace {

constexpr std::size_t kVarintBytesMax = 5;  // lengths below 2^35; frames are far smaller

// Unknown values read as msgpack, the default (the batch comes from this process's host).
ContentType content_type_of(std::uint8_t v) {
  return v <= kContentTypeMax ? static_cast<ContentType>(v) : ContentType::kMsgpack;
}

void put_varint(Bytes& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<std::uint8_t>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<std::uint8_t>(v));
}

Code code_from_name(std::string_view name) {
  if (name == "OK") return Code::kOk;
  for (int c = 1; c <= 16; ++c) {
    if (name == code_name(static_cast<Code>(c))) return static_cast<Code>(c);
  }
  if (name == code_name(Code::kDecodeError)) return Code::kDecodeError;
  return Code::kUnknown;
}

// Little-endian writer of the host formats.
class Writer {
 public:
  explicit Writer(Bytes& out) : out_(out) {}
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
  void md(const Metadata& m) {
    u32(static_cast<std::uint32_t>(m.size()));
    for (const auto& [k, v] : m) {
      str(k);
      str(v);
    }
  }

 private:
  Bytes& out_;
};

// Bounded reader: any overrun marks it failed; later reads return empty values.
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> bytes) : b_(bytes) {}
  bool done() const { return pos_ >= b_.size(); }
  bool ok() const { return ok_; }
  std::uint8_t u8() { return need(1) ? b_[pos_++] : 0; }
  std::uint32_t u32() {
    if (!need(4)) return 0;
    std::uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = v << 8 | b_[pos_ + i];
    pos_ += 4;
    return v;
  }
  double f64() {
    if (!need(8)) return 0;
    std::uint64_t bits = 0;
    for (int i = 7; i >= 0; --i) bits = bits << 8 | b_[pos_ + i];
    pos_ += 8;
    double d;
    std::memcpy(&d, &bits, sizeof d);
    return d;
  }
  std::span<const std::uint8_t> bin() {
    std::uint32_t n = u32();
    if (!need(n)) return {};
    auto out = b_.subspan(pos_, n);
    pos_ += n;
    return out;
  }
  std::string_view str() {
    auto b = bin();
    return {reinterpret_cast<const char*>(b.data()), b.size()};
  }
  Metadata md() {
    Metadata m;
    std::uint32_t n = u32();
    for (std::uint32_t i = 0; i < n && ok_; ++i) {
      std::string k(str());
      m[k] = std::string(str());
    }
    return m;
  }

 private:
  bool need(std::size_t k) {
    if (ok_ && b_.size() - pos_ >= k) return true;
    ok_ = false;
    return false;
  }
  std::span<const std::uint8_t> b_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

// A JS number as a handle or a time: finite, non-negative, integral and exact, else nullopt.
std::optional<std::uint64_t> exact_u64(double d) {
  if (!(d >= 0) || d > 9007199254740991.0 || static_cast<double>(static_cast<std::uint64_t>(d)) != d) return std::nullopt;
  return static_cast<std::uint64_t>(d);
}

// A duration in JS milliseconds: finite and non-negative, fractions truncated; else nullopt.
std::optional<std::uint64_t> duration_ms(double d) {
  if (!(d >= 0) || d > 9007199254740991.0) return std::nullopt;
  return static_cast<std::uint64_t>(d);
}

Status read_respond(Engine& engine, Reader& in, std::int64_t now_ms) {
  auto call = exact_u64(in.f64());
  Code code = code_from_name(in.str());
  std::string message(in.str());
  auto payload = in.bin();
  auto trailer = unpack_metadata(in.str());
  auto details_bytes = in.bin();
  if (!in.ok() || !call || !trailer.ok()) return decode_error("rpc step: malformed respond");
  Value details;
  if (!details_bytes.empty()) {
    auto v = codec::decode(details_bytes);
    if (v.ok()) details = std::move(*v);  // details outside the data model are dropped
  }
  Status s = code == Code::kOk ? Status{} : Status(code, message);
  (void)engine.respond(*call, s, Bytes(payload.begin(), payload.end()), *trailer, details, now_ms);
  return {};
}

Status read_start(Engine& engine, Reader& in, std::int64_t now_ms, const StepHooks& hooks) {
  auto handle = exact_u64(in.f64());
  CallOptions c;
  c.peer = in.str();
  c.service = in.str();
  c.method = in.str();
  auto md = unpack_metadata(in.str());
  auto payload = in.bin();
  c.payload.assign(payload.begin(), payload.end());
  c.content_type = content_type_of(in.u8());
  std::uint8_t kind = in.u8();
  auto timeout = duration_ms(in.f64());
  auto attempt_timeout = duration_ms(in.f64());
  c.idempotent = in.u8() != 0;
  c.retries = in.u32();
  std::uint8_t strategy = in.u8();
  c.hash_key = in.str();
  if (!in.ok() || !handle) return decode_error("rpc step: malformed call start");
  c.kind = static_cast<StreamKind>(kind <= 3 ? kind : 0);
  c.strategy = static_cast<Strategy>(strategy <= 2 ? strategy : 1);
  if (md.ok()) c.metadata = std::move(*md);
  c.timeout_ms = timeout ? static_cast<std::int64_t>(*timeout) : 0;
  c.attempt_timeout_ms = attempt_timeout ? static_cast<std::int64_t>(*attempt_timeout) : -1;
  if (kind > 3 || strategy > 2 || !md.ok()) c.timeout_ms = 0;  // refused by the engine, reported as kDone
  if (hooks.start) {
    hooks.start(*handle, std::move(c));
  } else {
    (void)engine.start_reserved_call(*handle, std::move(c), now_ms);  // errors arrive as kDone
  }
  return {};
}

const char* event_code(const Event& e) { return code_name(e.status.code()); }

void write_event(Writer& w, const Event& e) {
  w.u8(2);
  w.u8(static_cast<std::uint8_t>(e.kind));
  w.f64(static_cast<double>(e.handle));
  w.u8(static_cast<std::uint8_t>(e.stream_kind));
  w.str(e.peer);
  switch (e.kind) {
    case EventKind::kRequest:
      w.str(e.service);
      w.str(e.method);
      w.md(e.metadata);
      w.bin(e.payload);
      w.u8(static_cast<std::uint8_t>(e.content_type));
      w.f64(e.deadline_at_ms == kNoDeadline ? -1.0 : static_cast<double>(e.deadline_at_ms));
      break;
    case EventKind::kMessage:
      w.bin(e.payload);
      w.md(e.header);
      break;
    case EventKind::kDone:
      w.str(e.status.ok() ? "OK" : event_code(e));
      w.str(e.status.message());
      w.bin(e.payload);
      w.md(e.metadata);
      w.bin(e.details.is_nil() ? Bytes{} : codec::encode(e.details));
      w.u32(e.attempts);
      w.md(e.header);
      break;
    case EventKind::kCancelled:
      w.str(event_code(e));
      w.str(e.status.message());
      break;
    default: break;
  }
}

Result<Event> read_event(Reader& in) {
  Event e;
  std::uint8_t kind = in.u8();
  if (kind > static_cast<std::uint8_t>(EventKind::kWritable)) return decode_error("rpc drain: bad event kind");
  e.kind = static_cast<EventKind>(kind);
  auto handle = exact_u64(in.f64());
  std::uint8_t sk = in.u8();
  if (sk > 3 || !handle) return decode_error("rpc drain: bad event");
  e.handle = *handle;
  e.stream_kind = static_cast<StreamKind>(sk);
  e.peer = in.str();
  if (e.kind == EventKind::kRequest) {
    e.service = in.str();
    e.method = in.str();
    e.metadata = in.md();
    auto p = in.bin();
    e.payload.assign(p.begin(), p.end());
    e.content_type = content_type_of(in.u8());
    double d = in.f64();
    e.deadline_at_ms = d < 0 ? kNoDeadline : static_cast<std::int64_t>(exact_u64(d).value_or(0));
  } else if (e.kind == EventKind::kMessage) {
    auto p = in.bin();
    e.payload.assign(p.begin(), p.end());
    e.header = in.md();
  } else if (e.kind == EventKind::kDone || e.kind == EventKind::kCancelled) {
    Code code = code_from_name(in.str());
    std::string message(in.str());
    e.status = code == Code::kOk ? Status{} : Status(code, message);
    if (e.kind == EventKind::kDone) {
      auto p = in.bin();
      e.payload.assign(p.begin(), p.end());
      e.metadata = in.md();
      auto d = in.bin();
      if (!d.empty()) {
        auto v = codec::decode(d);
        if (!v.ok()) return decode_error("rpc drain: bad details");
        e.details = std::move(*v);
      }
      e.attempts = in.u32();
      e.header = in.md();
    }
  }
  if (!in.ok()) return decode_error("rpc drain: truncated event");
  return e;
}

}  // namespace

// ---- link messages ---------------------------------------------------------------------------

void LinkBatcher::push(const PeerKey& peer, std::span<const std::uint8_t> frame) {
  auto& messages = pending_[peer];
  const std::size_t need = frame.size() + kVarintBytesMax;
  if (messages.empty() || messages.back().size() + need > kLinkBytesMax) {
    messages.emplace_back();
    messages.back().push_back(kLinkFrames);
  }
  put_varint(messages.back(), frame.size());
  messages.back().insert(messages.back().end(), frame.begin(), frame.end());
}

std::vector<std::pair<PeerKey, Bytes>> LinkBatcher::take() {
  std::vector<std::pair<PeerKey, Bytes>> out;
  for (auto& [peer, messages] : pending_) {
    for (auto& m : messages) out.emplace_back(peer, std::move(m));
  }
  pending_.clear();
  return out;
}

Bytes link_advertisement(const Advertisement& ad) {
  Bytes out{kLinkAdvertisement};
  Bytes body = encode_advertisement(ad);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

Result<LinkMessage> decode_link_message(std::span<const std::uint8_t> bytes, const FrameLimits& limits) {
  if (bytes.empty()) return decode_error("rpc link: empty message");
  LinkMessage m;
  m.kind = bytes[0];
  auto body = bytes.subspan(1);
  if (m.kind == kLinkAdvertisement) {
    auto ad = decode_advertisement(body, limits);
    if (!ad.ok()) return ad.status();
    m.advertisement = std::move(*ad);
    return m;
  }
  if (m.kind != kLinkFrames) return decode_error("rpc link: unknown message kind");
  std::size_t pos = 0;
  while (pos < body.size()) {
    std::uint64_t len = 0;
    for (unsigned shift = 0;; shift += 7) {
      if (pos >= body.size() || shift >= 7 * kVarintBytesMax) return decode_error("rpc link: bad frame length");
      const std::uint8_t b = body[pos++];
      len |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if (b < 0x80) break;
    }
    if (len > body.size() - pos) return decode_error("rpc link: frame runs past the message");
    if (m.frames.size() >= kLinkFramesMax) return decode_error("rpc link: too many frames");
    m.frames.push_back(body.subspan(pos, len));
    pos += len;
  }
  return m;
}

void receive_link_message(Engine& engine, const PeerKey& from, std::span<const std::uint8_t> bytes, std::int64_t now_ms) {
  auto m = decode_link_message(bytes, engine.limits());
  if (!m.ok()) return;  // malformed: dropped whole
  if (m->kind == kLinkAdvertisement) {
    if (m->advertisement.peer == from) (void)engine.registry().apply(m->advertisement, now_ms);
    return;
  }
  for (auto frame : m->frames) (void)engine.handle(from, frame, now_ms);  // malformed frames: dropped
}

// ---- host batches ----------------------------------------------------------------------------

Result<Metadata> unpack_metadata(std::string_view packed) {
  Metadata md;
  std::size_t pos = 0;
  while (pos < packed.size()) {
    const std::size_t k_end = packed.find('\0', pos);
    if (k_end == std::string_view::npos) return invalid_argument("malformed packed metadata");
    std::size_t v_end = packed.find('\0', k_end + 1);
    if (v_end == std::string_view::npos) v_end = packed.size();
    md[std::string(packed.substr(pos, k_end - pos))] = std::string(packed.substr(k_end + 1, v_end - k_end - 1));
    pos = v_end + 1;
  }
  return md;
}

Status apply_step(Engine& engine, std::span<const std::uint8_t> input, std::int64_t now_ms, const StepHooks& hooks) {
  Reader in(input);
  while (!in.done()) {
    const std::uint8_t type = in.u8();
    if (type == 1) {
      std::string peer(in.str());
      auto message = in.bin();
      if (!in.ok()) return decode_error("rpc step: malformed link record");
      receive_link_message(engine, peer, message, now_ms);
    } else if (type == 2) {
      NITRO_TRY(read_respond(engine, in, now_ms));
    } else if (type == 3) {
      NITRO_TRY(read_start(engine, in, now_ms, hooks));
    } else if (type == 4) {
      auto call = exact_u64(in.f64());
      if (!in.ok() || !call) return decode_error("rpc step: malformed cancel");
      if (hooks.cancel) {
        hooks.cancel(*call);
      } else {
        (void)engine.cancel(*call, now_ms);
      }
    } else {
      return decode_error("rpc step: unknown record");
    }
  }
  return {};
}

void write_drain(Engine& engine, std::optional<std::int64_t> deadline, bool with_transmits, Bytes& out) {
  Writer w(out);
  w.f64(deadline ? static_cast<double>(*deadline) : -1.0);
  if (with_transmits) {
    LinkBatcher batcher;
    while (auto t = engine.poll_transmit()) batcher.push(t->peer, t->bytes);
    for (const auto& [peer, message] : batcher.take()) {
      w.u8(1);
      w.str(peer);
      w.bin(message);
    }
  }
  while (auto e = engine.poll_event()) write_event(w, *e);
}

Result<DrainBatch> read_drain(std::span<const std::uint8_t> bytes) {
  Reader in(bytes);
  DrainBatch b;
  b.deadline = in.f64();
  if (!in.ok()) return decode_error("rpc drain: no deadline");
  while (!in.done()) {
    const std::uint8_t type = in.u8();
    if (type == 1) {
      Transmit t;
      t.peer = in.str();
      auto f = in.bin();
      t.bytes.assign(f.begin(), f.end());
      if (!in.ok()) return decode_error("rpc drain: truncated transmit");
      b.transmits.push_back(std::move(t));
    } else if (type == 2) {
      auto e = read_event(in);
      if (!e.ok()) return e.status();
      b.events.push_back(std::move(*e));
    } else {
      return decode_error("rpc drain: unknown record");
    }
  }
  return b;
}

}  // namespace nitro::rpc
