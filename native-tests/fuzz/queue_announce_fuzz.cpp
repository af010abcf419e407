// Fuzz target: the queue-group announcement decoder (core/src/node/subscriptions.h) is total and
// bounded: malformed bytes give DECODE_ERROR, never a crash; what it accepts re-encodes to the
// same bytes (the format is canonical: sorted, no duplicates), and feeding it to a Subscriptions
// as a peer's announcement keeps routing total.
#include <array>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "node/subscriptions.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> in(data, size);
  auto groups = nitro::pubsub::Subscriptions::decode_groups(in, 64);
  if (!groups.ok()) {
    if (groups.status().code() != nitro::Code::kDecodeError) std::abort();
    return 0;
  }
  const nitro::Bytes again = nitro::pubsub::Subscriptions::encode_groups(*groups);
  // Duplicates collapse in the set: a canonical input re-encodes byte for byte, others shrink.
  if (again.size() > in.size()) std::abort();
  nitro::PeerId self, other;
  {
    std::array<std::uint8_t, 32> a{}, b{};
    b[0] = 1;
    self = *nitro::PeerId::from_bytes(a);
    other = *nitro::PeerId::from_bytes(b);
  }
  nitro::pubsub::Subscriptions subs(self, 64, 1000, 5000);
  for (const auto& [pattern, queue] : *groups) (void)subs.add(pattern, queue);
  if (!subs.on_announce(other, in, 0).ok()) std::abort();
  for (const auto& [pattern, queue] : *groups) (void)subs.route(pattern, other, 1, 0);
  return 0;
}
