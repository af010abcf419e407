// UTF-8 well-formedness, as the msgpack decoder checks every str (the JS codec refuses the same
// bytes: TextDecoder with fatal: true).
#pragma once

#include <cstdint>
#include <span>

namespace nitro::codec {

// Whether `bytes` is well-formed UTF-8 (Unicode Table 3-7: no overlong forms, no surrogates,
// nothing above U+10FFFF, no truncated sequence).
bool valid_utf8(std::span<const std::uint8_t> bytes);

}  // namespace nitro::codec
