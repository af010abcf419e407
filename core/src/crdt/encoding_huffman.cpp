// The coded text column (frame 0x15): the WTF-8 of an update's text items through one canonical
// Huffman code over bytes. Prose and code use few distinct bytes with skewed frequencies, so this
// takes the column to ~0.6 of its size at a few nanoseconds per byte each way: a full state
// encodes and loads at about the speed of copying its text. (The context-mixing coder of frame
// 0x14 packs tighter but costs ~0.5 µs per byte; it is still read, never written.)
//   column := varint(byte length), lo, hi, lengths of bytes lo..hi (a nibble each, high first,
//             0 = absent), then the codes, most significant bit first, zero-padded to a byte.
// Code lengths are at most kMaxBits, so one table lookup decodes a byte (often two).
#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <cstdint>
#include <queue>
#include <vector>

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

// Bytes in and out of a 64-bit window, most significant byte first (the column's bit order).
// The hot loops below use raw pointers and these forced-inline helpers: the default wasm page is
// built for size (-Oz), where even a std::array subscript can stay a call.
[[gnu::always_inline]] inline std::uint64_t big_endian(std::uint64_t v) {
  if constexpr (std::endian::native == std::endian::little) return __builtin_bswap64(v);
  return v;
}
[[gnu::always_inline]] inline void store_be64(std::uint8_t* p, std::uint64_t v) {
  v = big_endian(v);
  std::memcpy(p, &v, 8);
}
[[gnu::always_inline]] inline std::uint64_t load_be64(const std::uint8_t* p) {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return big_endian(v);
}

// Each byte's count, in four tables so consecutive equal bytes do not wait on each other.
std::array<std::uint64_t, 256> byte_counts(std::string_view text) {
  std::array<std::array<std::uint32_t, 256>, 4> part{};
  std::array<std::uint64_t, 256> counts{};
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const auto* const end = s + text.size();
  std::uint32_t *c0 = part[0].data(), *c1 = part[1].data(), *c2 = part[2].data(), *c3 = part[3].data();
  while (end - s >= 4) {
    // a part table counts at most 2^30 bytes before it is drained, so it cannot overflow
    const auto* const stop = s + std::min<std::size_t>(static_cast<std::size_t>(end - s) & ~std::size_t{3}, std::size_t{1} << 30);
    for (; s != stop; s += 4) ++c0[s[0]], ++c1[s[1]], ++c2[s[2]], ++c3[s[3]];
    for (int b = 0; b < 256; ++b) {
      counts[b] += std::uint64_t{c0[b]} + c1[b] + c2[b] + c3[b];
      c0[b] = c1[b] = c2[b] = c3[b] = 0;
    }
  }
  for (; s != end; ++s) ++counts[*s];
  return counts;
}

// Appends the codes of `text` to out, most significant bit first, zero-padded to a byte. The
// pending bits sit at the top of a 64-bit window: up to four codes (at most 48 bits) join the at
// most 7 pending bits, then the whole bytes leave in one 8-byte store (the next store overwrites
// the bytes past them).
void put_codes(std::string_view text, const std::array<std::uint16_t, 256>& entry, Bytes& out) {
  const std::size_t start = out.size();
  out.resize(start + (text.size() * kMaxBits + 7) / 8 + 8);
  std::uint8_t* p = out.data() + start;
  const std::uint16_t* const code = entry.data();  // code << 4 | length
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const auto* const end = s + text.size();
  std::uint64_t acc = 0;
  int n = 0;
  while (s != end) {
    const auto* const stop = end - s >= 4 ? s + 4 : end;
    for (; s != stop; ++s) {
      const std::uint16_t e = code[*s];
      n += e & 15;
      acc |= std::uint64_t{static_cast<std::uint16_t>(e >> 4)} << (64 - n);
    }
    store_be64(p, acc);
    const int whole = n >> 3;
    p += whole;
    acc = whole ? acc << (8 * whole) : acc;
    n &= 7;
  }
  if (n) *p++ = static_cast<std::uint8_t>(acc >> 56);
  out.resize(static_cast<std::size_t>(p - out.data()));
}

}  // namespace

void huffman_pack_text(std::string_view text, Bytes& out) {
  const Lengths len = code_lengths(byte_counts(text));
  std::array<std::uint16_t, 256> code{};
  canonical(len, code);
  int lo = 0, hi = 255;
  while (!len[lo]) ++lo;
  while (!len[hi]) --hi;
  out.push_back(static_cast<std::uint8_t>(lo));
  out.push_back(static_cast<std::uint8_t>(hi));
  for (int s = lo; s <= hi; s += 2) out.push_back(static_cast<std::uint8_t>(len[s] << 4 | (s < hi ? len[s + 1] : 0)));
  for (int s = 0; s < 256; ++s) code[s] = static_cast<std::uint16_t>(code[s] << 4 | len[s]);
  put_codes(text, code, out);
}

namespace {

// Every kMaxBits-bit window maps to the one or two codes it starts with (two when both fit in
// it, as they mostly do for text, halving the lookups in the decoder's dependency chain):
// first byte | second byte << 8 | bits of both << 16 | bits of the first << 20 | codes << 24.
// 0 marks a window no code starts.
using Table = std::vector<std::uint32_t>;

Table decode_table(const Lengths& len, const std::array<std::uint16_t, 256>& code) {
  std::vector<std::uint16_t> single(1u << kMaxBits, 0);  // byte << 4 | code length
  std::uint16_t* const one = single.data();
  for (int s = 0; s < 256; ++s) {
    if (!len[s]) continue;
    const int spare = kMaxBits - len[s];
    std::uint16_t* const first = one + (std::uint32_t{code[s]} << spare);
    std::fill(first, first + (1u << spare), static_cast<std::uint16_t>(s << 4 | len[s]));
  }
  Table table(1u << kMaxBits, 0);
  std::uint32_t* const t = table.data();
  constexpr std::uint32_t kMask = (1u << kMaxBits) - 1;
  for (std::uint32_t w = 0; w <= kMask; ++w) {
    const std::uint32_t a = one[w], la = a & 15;
    if (!a) continue;
    const std::uint32_t b = one[(w << la) & kMask], lb = b & 15;  // known bits decide it if lb fits
    const bool two = b && la + lb <= kMaxBits;
    t[w] = (a >> 4) | (two ? (b >> 4) << 8 : 0) | (two ? la + lb : la) << 16 | la << 20 | (two ? 2u : 1u) << 24;
  }
  return table;
}

// Decodes `size` bytes from `bits` to out. The window is reloaded from the byte holding the next
// bit, so it always has at least 57 bits: four lookups of at most 12 bits each per reload, their
// validity checked once per four. Near the end the window is filled bytewise (zeros past the
// input) and one byte is taken per lookup. False for a window no code starts or codes running
// past the input.
bool get_codes(std::span<const std::uint8_t> bits, const Table& table, char* out, std::size_t size) {
  const std::uint32_t* const t = table.data();
  const std::uint8_t* const in = bits.data();
  const std::size_t avail = bits.size();
  char* const end = out + size;
  std::size_t pos = 0;  // bits consumed
  while (end - out >= 8 && (pos >> 3) + 8 <= avail) {
    std::uint64_t acc = load_be64(in + (pos >> 3)) << (pos & 7);
    std::uint32_t missing = 0;
    for (int k = 0; k < 4; ++k) {  // one or two bytes each (two are always written)
      const std::uint32_t e = t[acc >> (64 - kMaxBits)];
      missing |= e == 0;
      out[0] = static_cast<char>(e);
      out[1] = static_cast<char>(e >> 8);
      out += e >> 24;
      acc <<= (e >> 16) & 15;
      pos += (e >> 16) & 15;
    }
    if (missing) return false;
  }
  while (out < end) {
    std::uint64_t acc = 0;
    for (std::size_t k = 0; k < 8; ++k) {
      const std::size_t b = (pos >> 3) + k;
      acc = acc << 8 | (b < avail ? in[b] : 0);
    }
    const std::uint32_t e = t[(acc << (pos & 7)) >> (64 - kMaxBits)];
    if (!e) return false;
    *out++ = static_cast<char>(e);
    pos += (e >> 20) & 15;
    if (pos > avail * 8) return false;
  }
  return pos <= avail * 8;
}

}  // namespace

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
  text.resize(size);
  return get_codes(in.subspan(2 + table_bytes), decode_table(len, code), text.data(), size);
}

}  // namespace nitro::crdt::detail
