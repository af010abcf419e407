// Fuzz target: the presence message decoder must be total, and whatever it accepts re-encodes to a
// message that decodes to the same fields (bytes compared only after one round trip: the encoder's
// key order may differ from the input's).
#include <cstdint>
#include <cstdlib>
#include <span>

#include "nitro/presence.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto m = nitro::decode_presence_message(std::span<const std::uint8_t>(data, size));
  if (!m.ok()) {
    if (m.status().code() != nitro::Code::kDecodeError) std::abort();
    return 0;
  }
  const nitro::Bytes once = nitro::encode_presence_message(*m);
  auto back = nitro::decode_presence_message(once);
  if (!back.ok() || nitro::encode_presence_message(*back) != once) std::abort();
  if (back->doc != m->doc || back->session != m->session || back->clock != m->clock || back->state != m->state) std::abort();
  return 0;
}
