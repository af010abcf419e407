// The RPC frame decoder as first written: decode the whole frame into a Value tree with the
// bounded codec, then check each field. core/src/rpc/frame.cpp now reads the bytes directly
// (faster, no tree); this slower, obviously-correct version is the oracle the differential tests
// (rpc_test.cpp, fuzz/rpc_fuzz.cpp) hold it to: both must accept and reject the same inputs and
// agree on every accepted frame.
#pragma once

#include <string>

#include "nitro/codec.h"
#include "nitro/rpc.h"

namespace nitro::rpc::reference {
namespace detail {

// Reads fields of a decoded frame array in order, remembering the first error.
class Reader {
 public:
  Reader(const Array& items, const FrameLimits& limits) : items_(items), limits_(limits) {}

  bool has(std::size_t i) const { return i < items_.size(); }
  std::uint64_t uint(std::size_t i, std::uint64_t max, const char* what) {
    if (!has(i)) return fail(what, "missing"), 0;
    const Value& v = items_[i];
    std::uint64_t u = 0;
    if (v.is<std::int64_t>() && v.as<std::int64_t>() >= 0) {
      u = static_cast<std::uint64_t>(v.as<std::int64_t>());
    } else if (v.is<std::uint64_t>()) {
      u = v.as<std::uint64_t>();
    } else {
      return fail(what, "not an unsigned integer"), 0;
    }
    if (u > max) return fail(what, "out of range"), 0;
    return u;
  }
  std::string str(std::size_t i, std::size_t max_bytes, const char* what) {
    if (!has(i) || !items_[i].is<std::string>()) return fail(what, "not a string"), std::string{};
    const auto& s = items_[i].as<std::string>();
    if (s.size() > max_bytes) return fail(what, "too long"), std::string{};
    return s;
  }
  Bytes bin(std::size_t i, const char* what) {
    if (!has(i) || !items_[i].is<Bytes>()) return fail(what, "not bytes"), Bytes{};
    return items_[i].as<Bytes>();
  }
  Metadata metadata(std::size_t i, const char* what) {
    Metadata md;
    if (!has(i) || !items_[i].is<Map>()) return fail(what, "not a map"), md;
    const Map& m = items_[i].as<Map>();
    if (m.size() > limits_.metadata_entries_max) return fail(what, "too many entries"), md;
    for (const auto& [k, v] : m) {
      if (!k.is<std::string>() || !v.is<std::string>()) return fail(what, "entry not string->string"), md;
      if (k.as<std::string>().size() > limits_.name_bytes_max) return fail(what, "key too long"), md;
      if (v.as<std::string>().size() > limits_.metadata_value_bytes_max) return fail(what, "value too long"), md;
      if (!md.emplace(k.as<std::string>(), v.as<std::string>()).second) return fail(what, "duplicate key"), md;
    }
    return md;
  }
  const Value& any(std::size_t i, const char* what) {
    static const Value kNil;
    if (!has(i)) return fail(what, "missing"), kNil;
    return items_[i];
  }
  const Status& status() const { return status_; }

 private:
  void fail(const char* what, const char* why) {
    if (status_.ok()) status_ = decode_error(std::string("rpc frame field ") + what + ": " + why);
  }
  const Array& items_;
  const FrameLimits& limits_;
  Status status_;
};


inline void read_request(Reader& r, Frame& f, const FrameLimits& limits) {
  f.service = r.str(3, limits.name_bytes_max, "service");
  f.method = r.str(4, limits.name_bytes_max, "method");
  f.metadata = r.metadata(5, "metadata");
  f.deadline_ms = r.uint(6, std::uint64_t{1} << 52, "deadline_ms");
  f.content_type = static_cast<ContentType>(r.uint(7, 2, "content_type"));  // msgpack, JSON, protobuf
  f.flags = static_cast<std::uint32_t>(r.uint(8, 0xffffffffu, "flags"));
  f.kind = static_cast<StreamKind>(r.uint(9, 3, "kind"));
  f.window = static_cast<std::uint32_t>(r.uint(10, limits.window_max, "window"));
  f.payload = r.bin(11, "payload");
}

inline void read_response(Reader& r, Frame& f, const FrameLimits& limits) {
  auto code = r.uint(3, static_cast<std::uint64_t>(Code::kDecodeError), "code");
  bool known = code <= static_cast<std::uint64_t>(Code::kUnauthenticated) ||
               code == static_cast<std::uint64_t>(Code::kDecodeError);
  f.code = known ? static_cast<Code>(code) : Code::kUnknown;
  f.message = r.str(4, limits.message_bytes_max, "message");
  f.details = r.any(5, "details");
  f.metadata = r.metadata(6, "trailer");
  f.seq = r.uint(7, std::uint64_t{1} << 62, "count");
  f.payload = r.bin(8, "payload");
  if (r.has(9)) f.header = r.metadata(9, "header");
}

}  // namespace detail

inline Result<Frame> decode_frame(std::span<const std::uint8_t> bytes, const FrameLimits& limits = {}) {
  codec::Limits cl;
  cl.frame_bytes_max = limits.frame_bytes_max;
  cl.depth_max = 16;
  cl.collection_len_max = 4096;
  cl.string_bytes_max = limits.frame_bytes_max;
  auto decoded = codec::decode(bytes, cl);
  if (!decoded.ok()) return decoded.status();
  if (!decoded->is<Array>()) return decode_error("rpc frame is not an array");
  const Array& items = decoded->as<Array>();
  detail::Reader r(items, limits);
  Frame f;
  if (r.uint(0, 255, "version") != kWireVersion) {
    return r.status().ok() ? decode_error("unsupported rpc wire version") : r.status();
  }
  auto type = r.uint(1, 6, "type");
  if (!r.status().ok() || type == 0) return decode_error("unknown rpc frame type");
  f.type = static_cast<FrameType>(type);
  f.call_id = r.uint(2, ~std::uint64_t{0}, "call_id");
  switch (f.type) {
    case FrameType::kRequest: detail::read_request(r, f, limits); break;
    case FrameType::kResponse: detail::read_response(r, f, limits); break;
    case FrameType::kStreamMsg:
      f.dir = static_cast<Dir>(r.uint(3, 1, "dir"));
      f.seq = r.uint(4, std::uint64_t{1} << 62, "seq");
      f.payload = r.bin(5, "payload");
      if (r.has(6)) f.header = r.metadata(6, "header");
      break;
    case FrameType::kStreamEnd:
    case FrameType::kCredit:
      f.dir = static_cast<Dir>(r.uint(3, 1, "dir"));
      f.seq = r.uint(4, std::uint64_t{1} << 62, "count");
      break;
    case FrameType::kCancel:  // optional reason: CANCELLED unless it says DEADLINE_EXCEEDED
      f.code = r.has(3) && r.uint(3, 100, "reason") == static_cast<std::uint64_t>(Code::kDeadlineExceeded)
                   ? Code::kDeadlineExceeded : Code::kCancelled;
      break;
  }
  if (!r.status().ok()) return r.status();
  return f;
}

}  // namespace nitro::rpc::reference
