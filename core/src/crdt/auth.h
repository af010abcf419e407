// Signed update envelopes and writer checks (auth.cpp).
#pragma once

#include <array>

#include "crdt/state.h"

namespace nitro::crdt::detail {

struct Opened {
  std::array<std::uint8_t, 32> public_key;
  ClientId client;
  std::span<const std::uint8_t> body;  // the plain update inside
};

Bytes sign_envelope(const DocState& d, const Bytes& body);
// Verifies the signature (kUnauthenticated if it fails, kDecodeError if malformed).
Result<Opened> open_envelope(std::span<const std::uint8_t> bytes);
bool writer_allowed(const DocState& d, std::span<const std::uint8_t, 32> public_key);
Status local_write_allowed(const DocState& d);

}  // namespace nitro::crdt::detail
