// msgpack codec for nitro::Value on msgpack-c: its packer for encoding, its push parser
// (msgpack::parse with a visitor) for decoding, so every limit is checked by our visitor before
// anything is allocated, and a malformed frame stops the parse instead of throwing. A str must be
// well-formed UTF-8, as the JS codec requires.
#include "nitro/codec.h"

#include "codec/utf8.h"

#include <msgpack.hpp>

#include <string>

namespace nitro {

const Value* Value::find(std::string_view key) const {
  if (!is<Map>()) return nullptr;
  for (const auto& [k, v] : as<Map>()) {
    if (k.is<std::string>() && k.as<std::string>() == key) return &v;
  }
  return nullptr;
}

namespace codec {
namespace {

struct BytesWriter {
  Bytes& out;
  void write(const char* data, std::size_t len) { out.insert(out.end(), data, data + len); }
};

void pack(msgpack::packer<BytesWriter>& pk, const Value& value) {
  std::visit(
      [&pk](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, Nil>) {
          pk.pack_nil();
        } else if constexpr (std::is_same_v<T, bool>) {
          v ? pk.pack_true() : pk.pack_false();
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          pk.pack_int64(v);  // msgpack-c picks the smallest format, positive ints as uint
        } else if constexpr (std::is_same_v<T, std::uint64_t>) {
          pk.pack_uint64(v);
        } else if constexpr (std::is_same_v<T, double>) {
          pk.pack_double(v);
        } else if constexpr (std::is_same_v<T, std::string>) {
          pk.pack_str(static_cast<std::uint32_t>(v.size()));
          pk.pack_str_body(v.data(), static_cast<std::uint32_t>(v.size()));
        } else if constexpr (std::is_same_v<T, Bytes>) {
          pk.pack_bin(static_cast<std::uint32_t>(v.size()));
          pk.pack_bin_body(reinterpret_cast<const char*>(v.data()), static_cast<std::uint32_t>(v.size()));
        } else if constexpr (std::is_same_v<T, Array>) {
          pk.pack_array(static_cast<std::uint32_t>(v.size()));
          for (const auto& item : v) pack(pk, item);
        } else {
          static_assert(std::is_same_v<T, Map>);
          pk.pack_map(static_cast<std::uint32_t>(v.size()));
          for (const auto& [key, val] : v) {
            pack(pk, key);
            pack(pk, val);
          }
        }
      },
      value.storage());
}

// Builds a Value tree from parser callbacks. Containers under construction live on `stack_`;
// each is at most `depth_max` deep and was checked against the limits (and against the bytes
// left, since every element costs at least one byte) before any reserve.
class BuildVisitor {
 public:
  BuildVisitor(const Limits& limits, std::size_t input_len) : limits_(limits), input_len_(input_len) {}

  bool visit_nil() { return put(Value{}); }
  bool visit_boolean(bool v) { return put(Value{v}); }
  bool visit_positive_integer(std::uint64_t v) { return put(Value{v}); }
  bool visit_negative_integer(std::int64_t v) { return put(Value{v}); }
  bool visit_float32(float v) { return put(Value{static_cast<double>(v)}); }
  bool visit_float64(double v) { return put(Value{v}); }
  bool visit_str(const char* v, std::uint32_t size) {
    if (!check_len(size, limits_.string_bytes_max, "string")) return false;
    if (!valid_utf8({reinterpret_cast<const std::uint8_t*>(v), size})) return fail("string is not valid UTF-8");
    return put(Value{std::string(v, size)});
  }
  bool visit_bin(const char* v, std::uint32_t size) {
    if (!check_len(size, limits_.string_bytes_max, "bytes")) return false;
    const auto* p = reinterpret_cast<const std::uint8_t*>(v);
    return put(Value{Bytes(p, p + size)});
  }
  bool visit_ext(const char*, std::uint32_t) { return fail("ext types are not part of the Nitro data model"); }

  bool start_array(std::uint32_t n) {
    if (!open(n, "array")) return false;
    Array a;
    a.reserve(n);
    stack_.push_back(Frame{Value{std::move(a)}, {}, false});
    return true;
  }
  bool start_array_item() { return true; }
  bool end_array_item() { return true; }
  bool end_array() { return close(); }
  bool start_map(std::uint32_t n) {
    if (!open(n, "map")) return false;
    Map m;
    m.reserve(n);
    stack_.push_back(Frame{Value{std::move(m)}, {}, false});
    return true;
  }
  bool start_map_key() { stack_.back().in_key = true; return true; }
  bool end_map_key() { stack_.back().in_key = false; return true; }
  bool start_map_value() { return true; }
  bool end_map_value() { return true; }
  bool end_map() { return close(); }
  void parse_error(std::size_t, std::size_t off) { fail("invalid msgpack byte at offset " + std::to_string(off)); }
  void insufficient_bytes(std::size_t, std::size_t) { fail("truncated frame"); }
  bool referenced() const { return false; }
  void set_referenced(bool) {}

  const Status& error() const { return error_; }
  bool has_root() const { return has_root_; }
  Value take_root() { return std::move(root_); }

 private:
  struct Frame {
    Value container;
    Value pending_key;
    bool in_key;
  };

  bool fail(std::string message) {
    if (error_.ok()) error_ = decode_error(std::move(message));
    return false;
  }
  bool check_len(std::size_t n, std::size_t max, const char* what) {
    if (n > max) return fail(std::string(what) + " length " + std::to_string(n) + " exceeds limit " + std::to_string(max));
    if (n > input_len_) return fail(std::string(what) + " length " + std::to_string(n) + " exceeds the frame");
    return true;
  }
  bool open(std::uint32_t n, const char* what) {
    if (stack_.size() >= limits_.depth_max) return fail("nesting deeper than " + std::to_string(limits_.depth_max));
    std::size_t per_item = std::string_view(what) == "map" ? 2 : 1;
    if (n > limits_.collection_len_max) return check_len(n, limits_.collection_len_max, what);
    return check_len(std::size_t{n} * per_item, input_len_, what);
  }
  bool close() {
    Frame frame = std::move(stack_.back());
    stack_.pop_back();
    return put(std::move(frame.container));
  }
  bool put(Value v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      has_root_ = true;
      return true;
    }
    Frame& top = stack_.back();
    if (top.container.is<Array>()) {
      top.container.as<Array>().push_back(std::move(v));
    } else if (top.in_key) {
      top.pending_key = std::move(v);
    } else {
      top.container.as<Map>().emplace_back(std::move(top.pending_key), std::move(v));
    }
    return true;
  }

  const Limits& limits_;
  std::size_t input_len_;
  std::vector<Frame> stack_;
  Value root_;
  bool has_root_ = false;
  Status error_;
};

// The second byte of a multi-byte sequence has a range that depends on the first (Table 3-7);
// the bytes after it are always 80..BF.
bool second_byte_ok(std::uint8_t lead, std::uint8_t b) {
  switch (lead) {
    case 0xE0: return b >= 0xA0 && b <= 0xBF;  // no overlong 3-byte forms
    case 0xED: return b >= 0x80 && b <= 0x9F;  // no surrogates
    case 0xF0: return b >= 0x90 && b <= 0xBF;  // no overlong 4-byte forms
    case 0xF4: return b >= 0x80 && b <= 0x8F;  // nothing above U+10FFFF
    default: return b >= 0x80 && b <= 0xBF;
  }
}

std::size_t sequence_length(std::uint8_t lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;  // a continuation byte, C0/C1 (overlong) or F5..FF
}

}  // namespace

bool valid_utf8(std::span<const std::uint8_t> bytes) {
  std::size_t i = 0;
  while (i < bytes.size()) {
    const std::uint8_t lead = bytes[i];
    if (lead < 0x80) {
      ++i;
      continue;
    }
    const std::size_t n = sequence_length(lead);
    if (n == 0 || bytes.size() - i < n || !second_byte_ok(lead, bytes[i + 1])) return false;
    for (std::size_t k = 2; k < n; ++k) {
      if ((bytes[i + k] & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

void encode(const Value& value, Bytes& out) {
  BytesWriter writer{out};
  msgpack::packer<BytesWriter> pk(writer);
  pack(pk, value);
}

Bytes encode(const Value& value) {
  Bytes out;
  encode(value, out);
  return out;
}

Result<Value> decode(std::span<const std::uint8_t> bytes, const Limits& limits) {
  if (bytes.size() > limits.frame_bytes_max) {
    return decode_error("frame of " + std::to_string(bytes.size()) + " bytes exceeds limit " +
                        std::to_string(limits.frame_bytes_max));
  }
  if (bytes.empty()) return decode_error("empty frame");
  BuildVisitor visitor(limits, bytes.size());
  std::size_t offset = 0;
  bool complete = false;
  try {
    complete = msgpack::parse(reinterpret_cast<const char*>(bytes.data()), bytes.size(), offset, visitor);
  } catch (const std::exception& e) {  // msgpack-c throws on a few size overflows
    return decode_error(std::string("malformed frame: ") + e.what());
  }
  if (!visitor.error().ok()) return visitor.error();
  if (!complete || !visitor.has_root()) return decode_error("truncated frame");
  if (offset != bytes.size()) {
    return decode_error(std::to_string(bytes.size() - offset) + " trailing bytes after the value");
  }
  return visitor.take_root();
}

}  // namespace codec
}  // namespace nitro
