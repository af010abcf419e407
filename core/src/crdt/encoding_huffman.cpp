// The coded text column (frame 0x15): the WTF-8 of an update's text items through one canonical
// Huffman code over bytes. Prose and code use few distinct bytes with skewed frequencies, so this
// takes the column to ~0.6 of its size at a few nanoseconds per byte each way: a full state
// encodes and loads at about the speed of copying its text. (The context-mixing coder of frame
// 0x14 packs tighter but costs ~0.5 µs per byte; it is still read, never written.)
//   column := varint(byte length), lo, hi, lengths of bytes lo..hi (a nibble each, high first,
//             0 = absent), then the codes, most significant bit first, zero-padded to a byte.
// Code lengths are at most kMaxBits, so one table lookup decodes a byte.
#include <algorithm>
#include <array>
#include <cstdint>
#include <queue>

#include "crdt/state.h"
#include "crdt/wire.h"

namespace nitro::crdt::detail {
namespace {

constexpr int kMaxBits = 12;

using Lengths = std::array<std::uint8_t, 256>;

// Huffman code lengths for the counts; counts are halved until the longest code fits kMaxBits
// (a few percent from optimal at worst, and only for very skewed columns).
Lengths code_lengths(std::array<std::uint64_t, 256> counts) {
  Lengths len{};
  for (;;) {
    // Nodes 0..255 are bytes, then internal nodes; parent[] records the tree.
    std::array<int, 512> parent{};
    using Node = std::pair<std::uint64_t, int>;
    std::priority_queue<Node, std::vector<Node>, std::greater<>> heap;
    for (int s = 0; s < 256; ++s) {
      if (counts[s]) heap.emplace(counts[s], s);
    }
    len.fill(0);
    if (heap.size() == 1) {  // one distinct byte still takes a bit per byte
      len[heap.top().second] = 1;
      return len;
    }
    int next = 256;
    while (heap.size() > 1) {
      const Node a = heap.top();
      heap.pop();
      const Node b = heap.top();
      heap.pop();
      parent[a.second] = parent[b.second] = next;
      heap.emplace(a.first + b.first, next++);
    }
    const int root = next - 1;
    std::array<std::uint8_t, 512> depth{};
    int longest = 0;
    for (int n = root - 1; n >= 256; --n) depth[n] = static_cast<std::uint8_t>(depth[parent[n]] + 1);
    for (int s = 0; s < 256; ++s) {
      if (!counts[s]) continue;
      len[s] = static_cast<std::uint8_t>(depth[parent[s]] + 1);
      longest = std::max<int>(longest, len[s]);
    }
    if (longest <= kMaxBits) return len;
    for (auto& c : counts) c = c ? c / 2 + 1 : 0;
  }
}

// Canonical codes: shorter codes first, then by byte value. False if the lengths over-fill the
// code space (a hostile table); an incomplete code is fine (unused codes are refused on decode).
bool canonical(const Lengths& len, std::array<std::uint16_t, 256>& code) {
  std::array<int, kMaxBits + 1> count{};
  for (int s = 0; s < 256; ++s) ++count[len[s]];
  count[0] = 0;
  std::array<int, kMaxBits + 2> next{};
  int c = 0;
  for (int bits = 1; bits <= kMaxBits; ++bits) {
    c = (c + count[bits - 1]) << 1;
    next[bits] = c;
    if (c + count[bits] > (1 << bits)) return false;
  }
  for (int s = 0; s < 256; ++s) {
    if (len[s]) code[s] = static_cast<std::uint16_t>(next[len[s]]++);
  }
  return true;
}

class BitWriter {
 public:
  explicit BitWriter(Bytes& out) : out_(out) {}
  void put(std::uint32_t code, int bits) {
    acc_ = acc_ << bits | code;
    n_ += bits;
    while (n_ >= 8) out_.push_back(static_cast<std::uint8_t>(acc_ >> (n_ -= 8)));
  }
  void flush() {
    if (n_) out_.push_back(static_cast<std::uint8_t>(acc_ << (8 - n_)));
  }

 private:
  Bytes& out_;
  std::uint64_t acc_ = 0;
  int n_ = 0;
};

}  // namespace

void huffman_pack_text(std::string_view text, Bytes& out) {
  std::array<std::uint64_t, 256> counts{};
  for (unsigned char c : text) ++counts[c];
  const Lengths len = code_lengths(counts);
  std::array<std::uint16_t, 256> code{};
  canonical(len, code);
  int lo = 0, hi = 255;
  while (!len[lo]) ++lo;
  while (!len[hi]) --hi;
  out.push_back(static_cast<std::uint8_t>(lo));
  out.push_back(static_cast<std::uint8_t>(hi));
  for (int s = lo; s <= hi; s += 2) out.push_back(static_cast<std::uint8_t>(len[s] << 4 | (s < hi ? len[s + 1] : 0)));
  BitWriter w(out);
  for (unsigned char c : text) w.put(code[c], len[c]);
  w.flush();
}

// False for a malformed table, a code that names no byte, or codes running past the input.
// Each byte takes at least one bit, so the caller bounds `size` by 8 bits per coded byte first.
bool huffman_unpack_text(std::span<const std::uint8_t> in, std::size_t size, std::string& text) {
  if (in.size() < 2 || in[0] > in[1]) return false;
  const int lo = in[0], hi = in[1];
  const std::size_t table_bytes = static_cast<std::size_t>(hi - lo) / 2 + 1;
  if (in.size() < 2 + table_bytes) return false;
  Lengths len{};
  for (int s = lo; s <= hi; ++s) {
    const std::uint8_t b = in[2 + static_cast<std::size_t>(s - lo) / 2];
    len[s] = static_cast<std::uint8_t>((s - lo) % 2 ? b & 15 : b >> 4);
    if (len[s] > kMaxBits) return false;
  }
  std::array<std::uint16_t, 256> code{};
  if (!canonical(len, code)) return false;
  // Every kMaxBits-bit window maps to (byte << 4 | code length); 0 marks a window no code starts.
  std::vector<std::uint16_t> table(1u << kMaxBits, 0);
  for (int s = 0; s < 256; ++s) {
    if (!len[s]) continue;
    const int spare = kMaxBits - len[s];
    const std::uint32_t first = std::uint32_t{code[s]} << spare;
    std::fill_n(table.begin() + first, 1u << spare, static_cast<std::uint16_t>(s << 4 | len[s]));
  }
  const auto bits = in.subspan(2 + table_bytes);
  std::size_t pos = 0;
  std::uint64_t acc = 0;
  int n = 0;
  text.assign(size, '\0');
  for (std::size_t i = 0; i < size; ++i) {
    while (n <= 56) {
      acc |= std::uint64_t{pos < bits.size() ? bits[pos] : std::uint8_t{0}} << (56 - n);
      ++pos;
      n += 8;
    }
    const std::uint16_t e = table[acc >> (64 - kMaxBits)];
    if (!e) return false;
    text[i] = static_cast<char>(e >> 4);
    acc <<= (e & 15);
    n -= e & 15;
    if (pos * 8 - static_cast<std::size_t>(n) > bits.size() * 8) return false;  // the column is cut short
  }
  return true;
}

}  // namespace nitro::crdt::detail
