// Byte-level helpers for the CRDT wire format: LEB128 varints, zigzag, a bounds-checked reader.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace nitro::crdt::detail {

// Every frame starts with one byte: the format version (high nibble) and the frame kind.
constexpr std::uint8_t kVersion = 1;
// kPacked: an update whose text column is packed (encoding_text.cpp, read only); kCoded: its
// text column is Huffman-coded (encoding_huffman.cpp); otherwise both as kUpdate.
enum class Frame : std::uint8_t { kUpdate = 0, kSigned = 1, kBundle = 2, kStateVector = 3, kPacked = 4, kCoded = 5 };
// A text column this long or longer is packed when that saves bytes; the decoder refuses a packed
// column that claims more than kPackRatioMax bytes per coded byte (the encoder never writes one).
// Decoding costs time per declared byte, so this ratio bounds a hostile frame's cost by its own
// size: prose and code pack to ~3x, only long repeats pack further (and then stay plain).
constexpr std::size_t kPackTextMin = 256;
constexpr std::size_t kPackRatioMax = 16;
constexpr std::uint8_t header(Frame f) { return static_cast<std::uint8_t>(kVersion << 4 | static_cast<std::uint8_t>(f)); }

inline void put_varint(std::vector<std::uint8_t>& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<std::uint8_t>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<std::uint8_t>(v));
}
inline std::uint64_t zigzag(std::int64_t v) { return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63); }
inline std::int64_t unzigzag(std::uint64_t u) { return static_cast<std::int64_t>(u >> 1) ^ -static_cast<std::int64_t>(u & 1); }
inline void put_bytes(std::vector<std::uint8_t>& out, std::string_view s) {
  put_varint(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}

// Reads never run past the end: a failed read sets !ok() and returns zeros from then on.
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> data) : data_(data) {}
  bool ok() const { return ok_; }
  bool done() const { return pos_ == data_.size(); }
  std::size_t remaining() const { return data_.size() - pos_; }
  std::uint8_t peek() const { return ok_ && pos_ < data_.size() ? data_[pos_] : 0; }
  std::uint8_t byte() {
    if (!ok_ || pos_ >= data_.size()) return fail(), 0;
    return data_[pos_++];
  }
  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      std::uint8_t b = byte();
      if (!ok_) return 0;
      if (shift == 63 && b > 1) return fail(), 0;
      v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return v;
    }
    return fail(), 0;
  }
  // A count of things each at least `min_bytes` long: rejected if the input cannot hold them.
  std::size_t count(std::size_t min_bytes = 1) {
    std::uint64_t n = varint();
    if (!ok_ || n > remaining() / (min_bytes ? min_bytes : 1)) return fail(), 0;
    return static_cast<std::size_t>(n);
  }
  std::span<const std::uint8_t> bytes(std::size_t n) {
    if (!ok_ || n > remaining()) return fail(), std::span<const std::uint8_t>{};
    auto s = data_.subspan(pos_, n);
    pos_ += n;
    return s;
  }
  std::string_view str(std::size_t max) {
    std::size_t n = count(1);
    if (n > max) return fail(), std::string_view{};
    auto b = bytes(n);
    return {reinterpret_cast<const char*>(b.data()), b.size()};
  }
  void fail() { ok_ = false; }

 private:
  std::span<const std::uint8_t> data_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace nitro::crdt::detail
