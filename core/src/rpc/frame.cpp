// RPC frame codec: msgpack arrays (see nitro/rpc.h for the layout), written and read directly,
// with no Value tree in between (frames are on every call's hot path). Encoding uses msgpack-c's
// packer, so the bytes are exactly what codec::encode gives for the same array. Decoding walks
// the bytes with a bounded cursor: every field is type- and range-checked, extra trailing fields
// (a later minor version) are skipped under the codec's own limits, and any violation is a
// kDecodeError with nothing returned half-built.
#include <msgpack.hpp>

#include <algorithm>
#include <string>

#include "codec/utf8.h"
#include "nitro/codec.h"
#include "nitro/rpc.h"

namespace nitro::rpc {
namespace {

constexpr std::size_t kDepthMax = 16;              // as codec::Limits for the whole frame
constexpr std::uint32_t kCollectionLenMax = 4096;

struct BytesWriter {
  Bytes& out;
  void write(const char* data, std::size_t len) { out.insert(out.end(), data, data + len); }
};
using Packer = msgpack::packer<BytesWriter>;

void pack_str(Packer& pk, std::string_view s) {
  pk.pack_str(static_cast<std::uint32_t>(s.size()));
  pk.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
}

void pack_bin(Packer& pk, const Bytes& b) {
  pk.pack_bin(static_cast<std::uint32_t>(b.size()));
  pk.pack_bin_body(reinterpret_cast<const char*>(b.data()), static_cast<std::uint32_t>(b.size()));
}

void pack_metadata(Packer& pk, const Metadata& md) {
  pk.pack_map(static_cast<std::uint32_t>(md.size()));
  for (const auto& [k, v] : md) {
    pack_str(pk, k);
    pack_str(pk, v);
  }
}

std::uint32_t field_count(const Frame& f) {
  switch (f.type) {
    case FrameType::kRequest: return 12;
    case FrameType::kResponse: return f.header.empty() ? 9 : 10;
    case FrameType::kStreamMsg: return f.header.empty() ? 6 : 7;
    case FrameType::kStreamEnd:
    case FrameType::kCredit: return 5;
    case FrameType::kCancel: return f.code != Code::kCancelled && f.code != Code::kOk ? 4 : 3;
  }
  return 3;
}

// Reads msgpack values in order from a span; the first error sticks and later reads return
// zero values, so field readers need no error plumbing.
class Cursor {
 public:
  explicit Cursor(std::span<const std::uint8_t> bytes) : p_(bytes.data()), n_(bytes.size()) {}

  bool at_end() const { return pos_ >= n_; }
  const Status& status() const { return status_; }

  std::uint32_t array(const char* what) { return header(0x90, 0xdc, what, 1); }

  std::uint64_t uint(std::uint64_t max, const char* what) {
    std::uint64_t u = 0;
    if (!read_uint(u, what)) return 0;
    if (u > max) return fail(what, "out of range"), 0;
    return u;
  }
  std::string str(std::size_t max_bytes, const char* what) {
    auto b = str_bytes(what);
    if (b.size() > max_bytes) return fail(what, "too long"), std::string{};
    return {reinterpret_cast<const char*>(b.data()), b.size()};
  }
  Bytes bin(const char* what) {
    std::uint8_t t = byte();
    std::size_t len = t == 0xc4 ? be(1) : t == 0xc5 ? be(2) : t == 0xc6 ? be(4) : (fail(what, "not bytes"), 0);
    auto b = take(len, what);
    return Bytes(b.begin(), b.end());
  }
  Metadata metadata(const FrameLimits& limits, const char* what) {
    Metadata md;
    std::uint32_t n = header(0x80, 0xde, what, 2);
    if (n > limits.metadata_entries_max) return fail(what, "too many entries"), md;
    for (std::uint32_t i = 0; i < n && status_.ok(); ++i) {
      auto k = str_bytes(what);
      auto v = str_bytes(what);
      if (!status_.ok()) return fail(what, "entry not string->string"), Metadata{};
      if (k.size() > limits.name_bytes_max) return fail(what, "key too long"), Metadata{};
      if (v.size() > limits.metadata_value_bytes_max) return fail(what, "value too long"), Metadata{};
      std::string key(reinterpret_cast<const char*>(k.data()), k.size());
      if (!md.emplace(std::move(key), std::string(reinterpret_cast<const char*>(v.data()), v.size())).second) {
        return fail(what, "duplicate key"), Metadata{};
      }
    }
    return md;
  }
  // Any value (error details): its bytes are found by skipping, then decoded as a Value.
  Value any(const char* what) {
    std::size_t start = pos_;
    skip(1);
    if (!status_.ok()) return {};
    codec::Limits cl;
    cl.depth_max = kDepthMax - 1;
    cl.collection_len_max = kCollectionLenMax;
    auto v = codec::decode(std::span<const std::uint8_t>(p_ + start, pos_ - start), cl);
    if (!v.ok()) return fail(what, "malformed"), Value{};
    return std::move(*v);
  }
  // Skips one value of any type at `depth`, checked like the codec checks it (depth, lengths,
  // no ext types).
  void skip(std::size_t depth) {
    if (!status_.ok()) return;
    std::uint8_t t = byte();
    if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3) return;
    if (t >= 0xa0 && t <= 0xbf) return void(text(t & 0x1f, "string"));
    if (t >= 0x80 && t <= 0x9f) return skip_items(t < 0x90 ? 2u * (t & 0x0f) : t & 0x0f, t < 0x90 ? 2 : 1, depth);
    switch (t) {
      case 0xcc: case 0xd0: return void(take(1, "int"));
      case 0xcd: case 0xd1: return void(take(2, "int"));
      case 0xce: case 0xd2: case 0xca: return void(take(4, "number"));
      case 0xcf: case 0xd3: case 0xcb: return void(take(8, "number"));
      case 0xc4: return void(take(be(1), "bytes"));
      case 0xc5: return void(take(be(2), "bytes"));
      case 0xc6: return void(take(be(4), "bytes"));
      case 0xd9: return void(text(be(1), "string"));
      case 0xda: return void(text(be(2), "string"));
      case 0xdb: return void(text(be(4), "string"));
      case 0xdc: return skip_items(be(2), 1, depth);
      case 0xdd: return skip_items(be(4), 1, depth);
      case 0xde: return skip_items(2 * be(2), 2, depth);
      case 0xdf: return skip_items(2 * be(4), 2, depth);
      default: return fail("value", t == 0xc1 ? "invalid msgpack byte 0xc1" : "ext types are not part of the data model");
    }
  }

 private:
  void fail(const char* what, const char* why) {
    if (status_.ok()) status_ = decode_error(std::string("rpc frame field ") + what + ": " + why);
    pos_ = n_;  // stop every later read
  }
  std::uint8_t byte() {
    if (pos_ >= n_) return fail("frame", "truncated"), 0xc1;
    return p_[pos_++];
  }
  std::uint64_t be(int bytes) {
    if (n_ - pos_ < static_cast<std::size_t>(bytes)) return fail("frame", "truncated"), 0;
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v = v << 8 | p_[pos_++];
    return v;
  }
  std::span<const std::uint8_t> take(std::uint64_t len, const char* what) {
    if (len > n_ - pos_) return fail(what, "runs past the frame"), std::span<const std::uint8_t>{};
    std::span<const std::uint8_t> out(p_ + pos_, static_cast<std::size_t>(len));
    pos_ += static_cast<std::size_t>(len);
    return out;
  }
  // fix/16/32 headers of arrays (0x90, 0xdc) and maps (0x80, 0xde); every item costs a byte.
  std::uint32_t header(std::uint8_t fix, std::uint8_t t16, const char* what, std::size_t per_item) {
    std::uint8_t t = byte();
    std::uint64_t n = (t & 0xf0) == fix ? (t & 0x0f) : t == t16 ? be(2) : t == t16 + 1 ? be(4) : (fail(what, fix == 0x90 ? "not an array" : "not a map"), 0);
    if (n > kCollectionLenMax || n * per_item > n_ - pos_) return fail(what, "too long"), 0;
    return static_cast<std::uint32_t>(n);
  }
  std::span<const std::uint8_t> str_bytes(const char* what) {
    std::uint8_t t = byte();
    std::size_t len = (t & 0xe0) == 0xa0 ? (t & 0x1f) : t == 0xd9 ? be(1) : t == 0xda ? be(2) : t == 0xdb ? be(4) : (fail(what, "not a string"), 0);
    return text(len, what);
  }
  // A str body: well-formed UTF-8, as codec::decode and the JS codec require.
  std::span<const std::uint8_t> text(std::uint64_t len, const char* what) {
    auto b = take(len, what);
    if (!codec::valid_utf8(b)) return fail(what, "not UTF-8"), std::span<const std::uint8_t>{};
    return b;
  }
  bool read_uint(std::uint64_t& u, const char* what) {
    std::uint8_t t = byte();
    std::int64_t s = 0;
    if (t <= 0x7f) u = t;
    else if (t >= 0xcc && t <= 0xcf) u = be(1 << (t - 0xcc));
    else if (t >= 0xd0 && t <= 0xd3) s = signed_be(1 << (t - 0xd0)), u = static_cast<std::uint64_t>(s);
    else return fail(what, "not an unsigned integer"), false;
    if (s < 0) return fail(what, "not an unsigned integer"), false;
    return status_.ok();
  }
  std::int64_t signed_be(int bytes) {
    std::uint64_t v = be(bytes);
    int shift = 64 - 8 * bytes;
    return static_cast<std::int64_t>(v << shift) >> shift;
  }
  // The items of a container at `depth` (the frame's array is depth 0).
  void skip_items(std::uint64_t n, std::size_t per_item, std::size_t depth) {
    if (depth >= kDepthMax) return fail("value", "nested too deep");
    if (n / per_item > kCollectionLenMax || n > n_ - pos_) return fail("collection", "too long");
    for (std::uint64_t i = 0; i < n && status_.ok(); ++i) skip(depth + 1);
  }

  const std::uint8_t* p_;
  std::size_t n_;
  std::size_t pos_ = 0;
  Status status_;
};

void read_request(Cursor& c, Frame& f, const FrameLimits& limits) {
  f.service = c.str(limits.name_bytes_max, "service");
  f.method = c.str(limits.name_bytes_max, "method");
  f.metadata = c.metadata(limits, "metadata");
  f.deadline_ms = c.uint(std::uint64_t{1} << 52, "deadline_ms");
  f.content_type = static_cast<ContentType>(c.uint(kContentTypeMax, "content_type"));
  f.flags = static_cast<std::uint32_t>(c.uint(0xffffffffu, "flags"));
  f.kind = static_cast<StreamKind>(c.uint(3, "kind"));
  f.window = static_cast<std::uint32_t>(c.uint(limits.window_max, "window"));
  f.payload = c.bin("payload");
}

void read_response(Cursor& c, Frame& f, const FrameLimits& limits) {
  auto code = c.uint(static_cast<std::uint64_t>(Code::kDecodeError), "code");
  bool known = code <= static_cast<std::uint64_t>(Code::kUnauthenticated) ||
               code == static_cast<std::uint64_t>(Code::kDecodeError);
  f.code = known ? static_cast<Code>(code) : Code::kUnknown;
  f.message = c.str(limits.message_bytes_max, "message");
  f.details = c.any("details");
  f.metadata = c.metadata(limits, "trailer");
  f.seq = c.uint(std::uint64_t{1} << 62, "count");
  f.payload = c.bin("payload");
}

// Reads the fields of `f.type` (the array holds `n` items, 3 already read); returns how many
// items it consumed.
std::uint32_t read_fields(Cursor& c, Frame& f, std::uint32_t n, const FrameLimits& limits) {
  switch (f.type) {
    case FrameType::kRequest: read_request(c, f, limits); return 12;
    case FrameType::kResponse:
      read_response(c, f, limits);
      if (n < 10) return 9;
      f.header = c.metadata(limits, "header");
      return 10;
    case FrameType::kStreamMsg:
      f.dir = static_cast<Dir>(c.uint(1, "dir"));
      f.seq = c.uint(std::uint64_t{1} << 62, "seq");
      f.payload = c.bin("payload");
      if (n < 7) return 6;
      f.header = c.metadata(limits, "header");
      return 7;
    case FrameType::kStreamEnd:
    case FrameType::kCredit:
      f.dir = static_cast<Dir>(c.uint(1, "dir"));
      f.seq = c.uint(std::uint64_t{1} << 62, "count");
      return 5;
    case FrameType::kCancel:  // optional reason: CANCELLED unless it says DEADLINE_EXCEEDED
      f.code = Code::kCancelled;
      if (n < 4) return 3;
      if (c.uint(100, "reason") == static_cast<std::uint64_t>(Code::kDeadlineExceeded)) f.code = Code::kDeadlineExceeded;
      return 4;
  }
  return 3;
}

// Room for the frame up front (metadata aside): the packer appends a few bytes at a time.
void reserve_for(const Frame& f, Bytes& out) {
  const std::size_t need = 48 + f.service.size() + f.method.size() + f.message.size() + f.payload.size();
  if (out.capacity() - out.size() < need) out.reserve(std::max(out.size() + need, 2 * out.capacity()));
}

}  // namespace

void encode_frame(const Frame& f, Bytes& out) {
  reserve_for(f, out);
  BytesWriter writer{out};
  Packer pk(writer);
  pk.pack_array(field_count(f));
  pk.pack_uint64(kWireVersion);
  pk.pack_uint64(static_cast<std::uint64_t>(f.type));
  pk.pack_uint64(f.call_id);
  switch (f.type) {
    case FrameType::kRequest:
      pack_str(pk, f.service);
      pack_str(pk, f.method);
      pack_metadata(pk, f.metadata);
      pk.pack_uint64(f.deadline_ms);
      pk.pack_uint64(static_cast<std::uint64_t>(f.content_type));
      pk.pack_uint64(f.flags);
      pk.pack_uint64(static_cast<std::uint64_t>(f.kind));
      pk.pack_uint64(f.window);
      pack_bin(pk, f.payload);
      break;
    case FrameType::kResponse:
      pk.pack_uint64(static_cast<std::uint64_t>(f.code));
      pack_str(pk, f.message);
      codec::encode(f.details, out);
      pack_metadata(pk, f.metadata);
      pk.pack_uint64(f.seq);
      pack_bin(pk, f.payload);
      if (!f.header.empty()) pack_metadata(pk, f.header);
      break;
    case FrameType::kStreamMsg:
      pk.pack_uint64(static_cast<std::uint64_t>(f.dir));
      pk.pack_uint64(f.seq);
      pack_bin(pk, f.payload);
      if (!f.header.empty()) pack_metadata(pk, f.header);
      break;
    case FrameType::kStreamEnd:
    case FrameType::kCredit:
      pk.pack_uint64(static_cast<std::uint64_t>(f.dir));
      pk.pack_uint64(f.seq);
      break;
    case FrameType::kCancel:
      if (field_count(f) == 4) pk.pack_uint64(static_cast<std::uint64_t>(f.code));
      break;
  }
}

Bytes encode_frame(const Frame& frame) {
  Bytes out;
  encode_frame(frame, out);
  return out;
}

Result<Frame> decode_frame(std::span<const std::uint8_t> bytes, const FrameLimits& limits) {
  if (bytes.size() > limits.frame_bytes_max) return decode_error("rpc frame exceeds the size limit");
  if (bytes.empty()) return decode_error("empty frame");
  Cursor c(bytes);
  std::uint32_t n = c.array("frame");
  if (!c.status().ok()) return decode_error("rpc frame is not an array");
  if (n < 3) return decode_error("rpc frame has fewer than 3 fields");
  if (c.uint(255, "version") != kWireVersion) {
    return c.status().ok() ? decode_error("unsupported rpc wire version") : c.status();
  }
  auto type = c.uint(6, "type");
  if (!c.status().ok() || type == 0) return decode_error("unknown rpc frame type");
  Frame f;
  f.type = static_cast<FrameType>(type);
  f.call_id = c.uint(~std::uint64_t{0}, "call_id");
  std::uint32_t used = read_fields(c, f, n, limits);
  if (used > n) return decode_error("rpc frame is missing fields");
  for (std::uint32_t i = used; i < n; ++i) c.skip(1);  // fields of a later minor version
  if (!c.status().ok()) return c.status();
  if (!c.at_end()) return decode_error("trailing bytes after the rpc frame");
  return f;
}

const char* stream_kind_name(StreamKind kind) {
  switch (kind) {
    case StreamKind::kUnary: return "unary";
    case StreamKind::kServerStream: return "server";
    case StreamKind::kClientStream: return "client";
    case StreamKind::kBidi: return "bidi";
  }
  return "unary";
}

}  // namespace nitro::rpc
