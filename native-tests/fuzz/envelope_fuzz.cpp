// Fuzz target: Envelope::decode must be total and canonical. Whatever decodes re-encodes to the
// same bytes; verification never crashes; open() agrees with decode() + verify().
#include <cstdint>
#include <cstdlib>
#include <span>

#include "nitro/envelope.h"

using namespace nitro;
using namespace nitro::crypto;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> in(data, size);
  EnvelopeLimits limits{64, 4096};
  auto decoded = Envelope::decode(in, limits);
  auto opened = Envelope::open(in, limits);
  if (!decoded.ok()) {
    if (decoded.status().code() != Code::kDecodeError) std::abort();
    if (opened.ok()) std::abort();
    return 0;
  }
  if (decoded->encode() != Bytes(in.begin(), in.end())) std::abort();
  Status verified = decoded->verify();
  if (verified.ok() != opened.ok()) std::abort();
  if (!verified.ok() && verified.code() != Code::kUnauthenticated) std::abort();
  ReplayGuard guard;
  Status first = guard.accept(*decoded, decoded->timestamp_ms);
  if (first.ok() && guard.accept(*decoded, decoded->timestamp_ms).code() != Code::kAlreadyExists) std::abort();
  return 0;
}
