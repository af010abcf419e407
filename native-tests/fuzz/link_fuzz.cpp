// Fuzz target: SecureLink's handshake and transport decoders fed arbitrary frames.
// Input: mode byte, then frames as [len u16 BE][bytes], at most kFramesMax of them.
//   mode % 3 == 0: a fresh responder (msg1/msg3 decoders),
//   mode % 3 == 1: an initiator that sent msg1 (msg2 decoder),
//   mode % 3 == 2: the responder of an established pair (transport decoder).
// Keys and ephemerals come from fixed seeds, so corpus frames recorded from a real handshake are
// valid and the fuzzer explores past the AEAD checks. Invariants: no crash, every rejection has
// a known code, messages only come out of accepted frames, a failed link transmits nothing.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "nitro/link.h"

using namespace nitro;
using namespace nitro::crypto;

namespace {

constexpr int kFramesMax = 16;

Seed seed_of(std::uint8_t fill) {
  Seed s{};
  for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<std::uint8_t>(fill + i * 7);
  return s;
}

bool known_rejection(Code c) {
  return c == Code::kDecodeError || c == Code::kFailedPrecondition || c == Code::kUnauthenticated ||
         c == Code::kAlreadyExists || c == Code::kOutOfRange || c == Code::kPermissionDenied ||
         c == Code::kResourceExhausted;
}

SecureLink make_target(int mode, const Identity& i, const Identity& r, const LinkLimits& limits) {
  if (mode == 0) return SecureLink::responder(r, seed_of(20), std::nullopt, limits);
  if (mode == 1) return SecureLink::initiator(i, seed_of(10), std::nullopt, limits);
  auto init = SecureLink::initiator(i, seed_of(10), std::nullopt, limits);
  auto resp = SecureLink::responder(r, seed_of(20), std::nullopt, limits);
  for (int step = 0; step < 2; ++step) {
    while (auto f = init.poll_transmit()) (void)resp.handle(*f);
    while (auto f = resp.poll_transmit()) (void)init.handle(*f);
  }
  if (!resp.established()) std::abort();
  while (resp.poll_event()) {}
  return resp;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  static const Identity id_i = Identity::from_seed(seed_of(1));
  static const Identity id_r = Identity::from_seed(seed_of(2));
  const int mode = data[0] % 3;
  LinkLimits limits;
  limits.plaintext_bytes_max = 4096;
  SecureLink link = make_target(mode, id_i, id_r, limits);
  while (link.poll_transmit()) {}
  std::span<const std::uint8_t> in(data + 1, size - 1);
  for (int n = 0; n < kFramesMax && in.size() >= 2; ++n) {
    std::size_t len = (std::size_t{in[0]} << 8) | in[1];
    in = in.subspan(2);
    if (len > in.size()) len = in.size();
    const auto received_before = link.counters().frames_received;
    Status s = link.handle(in.first(len));
    in = in.subspan(len);
    if (!s.ok() && !known_rejection(s.code())) std::abort();
    if (!s.ok() && link.counters().frames_received != received_before) std::abort();
    while (auto e = link.poll_event()) {
      if (e->kind == LinkEvent::Kind::kMessage && !s.ok()) std::abort();
    }
    if (link.state() == LinkState::kFailed && link.poll_transmit()) std::abort();
    while (link.poll_transmit()) {}
  }
  return 0;
}
