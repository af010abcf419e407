// Fuzz target: the msgpack decoder must be total. Whatever it accepts must re-encode to a
// frame that decodes to an equal value (canonical round trip). The UTF-8 check every str goes
// through is compared, on the raw input, with a decoder written the other way round: decode a
// code point by its lead byte's count of leading ones, then require the shortest encoding and a
// scalar value.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "codec/utf8.h"
#include "nitro/codec.h"

namespace {

bool reference_utf8(std::span<const std::uint8_t> s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const unsigned lead = s[i];
    unsigned ones = 0;
    while (ones < 8 && (lead & (0x80u >> ones))) ++ones;
    if (ones == 0) { ++i; continue; }
    if (ones == 1 || ones > 4 || s.size() - i < ones) return false;
    std::uint32_t cp = lead & (0x7fu >> ones);
    for (unsigned k = 1; k < ones; ++k) {
      if ((s[i + k] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    const std::uint32_t shortest = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (shortest != ones || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return false;
    i += ones;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (nitro::codec::valid_utf8(std::span(data, size)) != reference_utf8(std::span(data, size))) std::abort();
  auto decoded = nitro::codec::decode(std::span(data, size));
  if (!decoded.ok()) {
    if (decoded.status().code() != nitro::Code::kDecodeError) std::abort();
    return 0;
  }
  auto again = nitro::codec::decode(nitro::codec::encode(*decoded));
  if (!again.ok()) std::abort();
  // NaN payloads compare unequal; only check non-float roots structurally by re-encoding.
  if (nitro::codec::encode(*again) != nitro::codec::encode(*decoded)) std::abort();
  return 0;
}
