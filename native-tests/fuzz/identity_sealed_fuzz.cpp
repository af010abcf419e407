// Fuzz target: Identity::import_sealed is total. Input: one byte of passphrase length (mod 16),
// the passphrase, then the sealed blob. A blob whose costs are within the accepted maximum has
// them lowered to argon2id's minimum first (same parsing and decryption paths, a thousand times
// faster); costs above the maximum are left as they are and must be refused cheaply.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string_view>

#include "nitro/identity.h"

using namespace nitro;
using namespace nitro::crypto;

namespace {

std::uint32_t u32_le(const std::uint8_t* p) {
  return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 | std::uint32_t{p[3]} << 24;
}

void put_u32_le(std::uint8_t* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t pass_len = std::min<std::size_t>(data[0] % 16, size - 1);
  const std::string_view passphrase(reinterpret_cast<const char*>(data + 1), pass_len);
  Bytes blob(data + 1 + pass_len, data + size);
  if (blob.size() >= 12 && std::memcmp(blob.data(), "NSK1", 4) == 0 && u32_le(&blob[4]) <= kPwhashParamsMax.ops &&
      u32_le(&blob[8]) <= kPwhashParamsMax.mem_kib) {
    put_u32_le(&blob[4], 1);
    put_u32_le(&blob[8], 8);
  }
  auto imported = Identity::import_sealed(blob, passphrase);
  if (!imported.ok()) {
    const Code c = imported.status().code();
    if (c != Code::kDecodeError && c != Code::kResourceExhausted && c != Code::kUnauthenticated &&
        c != Code::kInvalidArgument) {
      std::abort();
    }
    return 0;
  }
  // What imports is a real identity: its seed rebuilds the same peer.
  if (Identity::from_seed([&] {
        Seed s{};
        Bytes raw = imported->export_seed();
        if (raw.size() != s.size()) std::abort();
        std::memcpy(s.data(), raw.data(), s.size());
        return s;
      }()).peer_id() != imported->peer_id()) {
    std::abort();
  }
  return 0;
}
