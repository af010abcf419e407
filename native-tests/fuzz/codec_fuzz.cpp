// Fuzz target: the msgpack decoder must be total. Whatever it accepts must re-encode to a
// frame that decodes to an equal value (canonical round trip).
#include <cstdint>
#include <cstdlib>
#include <span>

#include "nitro/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
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
