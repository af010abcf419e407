// The packed text column: the WTF-8 of an update's text items through a small context-mixing
// coder (lpaq-style: bitwise predictions from an order-1 and a hashed order-2 and order-3 context,
// mixed in the logistic domain by weights selected by the partial byte, then a binary
// arithmetic coder). Prose and code repeat short contexts, so this takes the column, which is
// most of a large document, to about a third; Automerge deflates its columns for the same reason.
// All integer arithmetic: native and wasm builds produce and accept the same bytes.
#include <array>
#include <cstdint>
#include <memory>

#include "crdt/state.h"
#include "crdt/wire.h"

namespace nitro::crdt::detail {
namespace {

// p = 1 / (1 + exp(-d)): d in 1/256 units (|d| < 2048), p in 1/4096 units.
int squash(int d) {
  static constexpr std::array<int, 33> kT = {1,    2,    3,    6,    10,   16,   27,   45,   73,   120,  194,
                                             310,  488,  747,  1101, 1546, 2047, 2549, 2994, 3348, 3607, 3785,
                                             3901, 3975, 4022, 4050, 4068, 4079, 4085, 4089, 4092, 4093, 4094};
  if (d > 2047) return 4095;
  if (d < -2047) return 1;
  const int w = d & 127;
  const int i = (d >> 7) + 16;
  return (kT[i] * (128 - w) + kT[i + 1] * w + 64) >> 7;
}

// The inverse of squash, tabulated.
const std::array<std::int16_t, 4096>& stretch_table() {
  static const auto table = [] {
    std::array<std::int16_t, 4096> t{};
    int pi = 0;
    for (int x = -2047; x <= 2047; ++x) {
      const int v = squash(x);
      for (int i = pi; i <= v; ++i) t[i] = static_cast<std::int16_t>(x);
      pi = v + 1;
    }
    for (int i = pi; i < 4096; ++i) t[i] = 2047;
    return t;
  }();
  return table;
}

constexpr int kInputs = 4;  // order 1, 2, 3 and a bias
constexpr unsigned kHashBits = 20;

// Predicts one bit at a time; encoder and decoder run the same model over the same bits.
class Model {
 public:
  Model() : o1_(256 * 256, 1 << 15), o2_(1u << kHashBits, 1 << 15), o3_(1u << kHashBits, 1 << 15) {
    for (auto& set : weights_) set = {22000, 22000, 22000, 0};
  }

  // The hashed tables are read in slots of 16, one per context and nibble, so a byte costs two
  // cache misses a table instead of eight.
  int predict() {
    const auto& st = stretch_table();
    if (node_ == 1 || (node_ >= 16 && node_ < 32)) {
      slot2_ = hash(h2_ + node_) & ~15u;
      slot3_ = hash(h3_ + node_ * 0x2f0b3c1u) & ~15u;
    }
    const std::uint32_t in_nibble = node_ < 16 ? node_ : (node_ & ((1u << (bits_ - 4)) - 1)) | 1u << (bits_ - 4);
    i1_ = c1_ << 8 | node_;
    i2_ = slot2_ | in_nibble;
    i3_ = slot3_ | in_nibble;
    x_ = {st[o1_[i1_] >> 4], st[o2_[i2_] >> 4], st[o3_[i3_] >> 4], 256};
    std::int64_t dot = 0;
    const auto& w = weights_[node_];
    for (int k = 0; k < kInputs; ++k) dot += std::int64_t{x_[k]} * w[k];
    p_ = squash(static_cast<int>(dot >> 16));
    if (p_ < 1) p_ = 1;
    if (p_ > 4095) p_ = 4095;
    return p_;
  }

  void update(int bit) {
    const int err = ((bit << 12) - p_) * 6;
    auto& w = weights_[node_];
    for (int k = 0; k < kInputs; ++k) w[k] += (x_[k] * err) >> 14;
    adapt(o1_[i1_], bit, 4);
    adapt(o2_[i2_], bit, 4);
    adapt(o3_[i3_], bit, 4);
    node_ = node_ << 1 | static_cast<std::uint32_t>(bit);
    ++bits_;
    if (node_ >= 256) {
      bits_ = 0;
      const std::uint32_t c = node_ & 255;
      c3_ = c2_;
      c2_ = c1_;
      c1_ = c;
      h2_ = (c2_ << 8 | c1_) * 0x9E3779B1u;
      h3_ = (c3_ << 16 | c2_ << 8 | c1_) * 0x85EBCA77u + 0x27d4eb2fu;
      node_ = 1;
    }
  }

 private:
  static std::uint32_t hash(std::uint32_t k) {
    k ^= k >> 15;
    k *= 0x2c1b3c6du;
    k ^= k >> 12;
    return k & ((1u << kHashBits) - 1);
  }
  static void adapt(std::uint16_t& p, int bit, int rate) {
    if (bit) p = static_cast<std::uint16_t>(p + ((65535 - p) >> rate));
    else p = static_cast<std::uint16_t>(p - (p >> rate));
  }

  std::vector<std::uint16_t> o1_, o2_, o3_;  // P(bit = 1) in 1/65536 units
  std::array<std::array<std::int32_t, kInputs>, 256> weights_{};
  std::array<int, kInputs> x_{};
  std::uint32_t c1_ = 0, c2_ = 0, c3_ = 0, h2_ = 0, h3_ = 0, node_ = 1, bits_ = 0, i1_ = 0, i2_ = 0, i3_ = 0;
  std::uint32_t slot2_ = 0, slot3_ = 0;
  int p_ = 2048;
};

// Carry-less binary arithmetic coder (lpaq1's): [x1, x2] narrows by each bit's probability.
std::uint32_t split(std::uint32_t x1, std::uint32_t x2, int p) {
  const std::uint32_t range = x2 - x1;
  return x1 + (range >> 12) * static_cast<std::uint32_t>(p) + (((range & 0xfff) * static_cast<std::uint32_t>(p)) >> 12);
}

}  // namespace

void pack_text(std::string_view text, Bytes& out) {
  auto model = std::make_unique<Model>();
  std::uint32_t x1 = 0, x2 = 0xffffffff;
  for (unsigned char c : text) {
    for (int k = 7; k >= 0; --k) {
      const int bit = (c >> k) & 1;
      const std::uint32_t mid = split(x1, x2, model->predict());
      if (bit) x2 = mid; else x1 = mid + 1;
      model->update(bit);
      while (((x1 ^ x2) & 0xff000000) == 0) {
        out.push_back(static_cast<std::uint8_t>(x2 >> 24));
        x1 <<= 8;
        x2 = x2 << 8 | 255;
      }
    }
  }
  for (int k = 0; k < 4; ++k, x1 <<= 8) out.push_back(static_cast<std::uint8_t>(x1 >> 24));
}

// Bounded by `size` (the caller caps it); input past the end reads as zeros, so any bytes decode
// to some text, which the caller then checks as WTF-8 against its items.
std::string unpack_text(std::span<const std::uint8_t> in, std::size_t size) {
  auto model = std::make_unique<Model>();
  std::size_t pos = 0;
  auto next = [&]() -> std::uint32_t { return pos < in.size() ? in[pos++] : 0; };
  std::uint32_t x1 = 0, x2 = 0xffffffff, x = 0;
  for (int k = 0; k < 4; ++k) x = x << 8 | next();
  std::string text(size, '\0');
  for (std::size_t i = 0; i < size; ++i) {
    std::uint32_t c = 0;
    for (int k = 0; k < 8; ++k) {
      const std::uint32_t mid = split(x1, x2, model->predict());
      const int bit = x <= mid;
      if (bit) x2 = mid; else x1 = mid + 1;
      model->update(bit);
      c = c << 1 | static_cast<std::uint32_t>(bit);
      while (((x1 ^ x2) & 0xff000000) == 0) {
        x1 <<= 8;
        x2 = x2 << 8 | 255;
        x = x << 8 | next();
      }
    }
    text[i] = static_cast<char>(c);
  }
  return text;
}

}  // namespace nitro::crdt::detail
