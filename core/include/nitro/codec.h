// The msgpack codec for Nitro values. Decoding is total and bounded: any byte string yields a
// Value or a kDecodeError Status, never a crash, an exception or an allocation larger than the
// input can justify. Every limit is explicit and checked before memory is reserved.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "nitro/status.h"
#include "nitro/value.h"

namespace nitro::codec {

struct Limits {
  std::size_t frame_bytes_max = 16u << 20;       // whole input
  std::size_t depth_max = 64;                    // nesting of arrays/maps
  std::size_t collection_len_max = 1u << 20;     // elements of one array or pairs of one map
  std::size_t string_bytes_max = 8u << 20;       // one str or bin
};
static_assert(Limits{}.string_bytes_max <= Limits{}.frame_bytes_max);

// Encodes with the smallest msgpack representation for each item (what @msgpack/msgpack and
// msgpackr produce for the same data). Appends to `out`.
void encode(const Value& value, Bytes& out);
Bytes encode(const Value& value);

// Decodes exactly one value that spans all of `bytes`; trailing bytes are an error.
Result<Value> decode(std::span<const std::uint8_t> bytes, const Limits& limits = {});

}  // namespace nitro::codec
