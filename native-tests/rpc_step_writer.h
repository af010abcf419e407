// Step input of the RPC host format (nitro/rpc_batch.h), written from the documented layout
// independently of the core's own writer: the tests check the core against it, the native RPC
// bench drives engines with it.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "nitro/value.h"

namespace nitro::test {

struct StepWriter {
  Bytes b;
  std::string service = "svc";  // of the calls start() writes

  void u8(std::uint8_t v) { b.push_back(v); }
  void u32(std::uint32_t v) {
    for (int i = 0; i < 4; ++i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  void f64(double d) {
    std::uint64_t bits;
    std::memcpy(&bits, &d, 8);
    for (int i = 0; i < 8; ++i) b.push_back(static_cast<std::uint8_t>(bits >> (8 * i)));
  }
  void bin(std::span<const std::uint8_t> x) {
    u32(static_cast<std::uint32_t>(x.size()));
    b.insert(b.end(), x.begin(), x.end());
  }
  void str(std::string_view s) { bin({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}); }
  // A unary msgpack call start (round robin, no retries).
  void start(double handle, std::string_view peer, std::string_view method, std::string_view packed_md,
             std::span<const std::uint8_t> payload, double timeout_ms) {
    u8(3);
    f64(handle);
    str(peer);
    str(service);
    str(method);
    str(packed_md);
    bin(payload);
    u8(0);           // msgpack
    u8(0);           // unary
    f64(timeout_ms);
    f64(0);          // attempt timeout
    u8(0);           // not idempotent
    u32(0);          // retries
    u8(1);           // round robin
    str("");
  }
  // A handler's OK response without trailer or details.
  void respond(double handle, std::span<const std::uint8_t> payload) {
    u8(2);
    f64(handle);
    str("OK");
    str("");
    bin(payload);
    str("");
    bin({});
  }
};

}  // namespace nitro::test
