// Fuzz target: the RPC composition's batch formats (nitro/rpc_batch.h) must be total and bounded.
// The bytes are read as a link message, as a host's step input applied to a live engine (and to a
// NodeRpc-style start hook), and as a drain batch; whatever a live engine drains must read back.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "nitro/rpc.h"
#include "nitro/rpc_batch.h"

namespace {

using namespace nitro::rpc;

void check_link(std::span<const std::uint8_t> bytes) {
  auto m = decode_link_message(bytes);
  if (!m.ok()) {
    if (m.status().code() != nitro::Code::kDecodeError) std::abort();
    return;
  }
  if (m->frames.size() > kLinkFramesMax) std::abort();
  if (m->kind != kLinkFrames) return;
  // Re-batching the frames gives one message that splits into the same frames.
  LinkBatcher b;
  for (auto f : m->frames) b.push("p", f);
  for (const auto& [peer, message] : b.take()) {
    auto again = decode_link_message(message);
    if (!again.ok()) std::abort();
  }
}

void check_step(std::span<const std::uint8_t> bytes) {
  Engine engine("self", 3);
  engine.serve("svc");
  (void)engine.register_method("A.B", StreamKind::kUnary);
  (void)engine.reserve_handles(16);
  (void)apply_step(engine, bytes, 5);
  nitro::Bytes out;
  write_drain(engine, engine.next_deadline(), true, out);
  if (!read_drain(out).ok()) std::abort();
  int held = 0;
  StepHooks hooks;
  hooks.start = [&held](CallHandle, CallOptions) { ++held; };
  (void)apply_step(engine, bytes, 6, hooks);
  engine.tick(1000000);
  while (engine.poll_transmit()) {}
  while (engine.poll_event()) {}
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> bytes(data, size);
  check_link(bytes);
  check_step(bytes);
  (void)read_drain(bytes);
  return 0;
}
