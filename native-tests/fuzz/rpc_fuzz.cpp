// Fuzz target: the RPC frame and advertisement decoders must be total, the frame decoder must agree
// with the Value-tree reference decoder (rpc_frame_reference.h), and whatever they accept
// must re-encode to bytes that decode to the same frame (canonical round trip). The bytes are
// also fed to a live engine pair (client with one open call, server with methods registered):
// no input may crash it or break its bounds.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "nitro/rpc.h"
#include "../rpc_frame_reference.h"

namespace {

void check_frame(std::span<const std::uint8_t> bytes) {
  auto f = nitro::rpc::decode_frame(bytes);
  auto ref = nitro::rpc::reference::decode_frame(bytes);  // differential: same verdict, same frame
  if (f.ok() != ref.ok()) std::abort();
  if (f.ok() && nitro::rpc::encode_frame(*f) != nitro::rpc::encode_frame(*ref)) std::abort();
  if (!f.ok()) {
    if (f.status().code() != nitro::Code::kDecodeError) std::abort();
    return;
  }
  nitro::Bytes again = nitro::rpc::encode_frame(*f);
  auto g = nitro::rpc::decode_frame(again);
  if (!g.ok() || nitro::rpc::encode_frame(*g) != again) std::abort();
}

void check_engine(std::span<const std::uint8_t> bytes) {
  using namespace nitro::rpc;
  Engine server("srv", 1);
  server.serve("svc");
  (void)server.register_method("A.B", StreamKind::kUnary);
  (void)server.register_method("A.S", StreamKind::kBidi);
  Engine client("cli", 2);
  CallOptions o;
  o.peer = "srv";
  o.method = "A.S";
  o.kind = StreamKind::kBidi;
  auto h = client.start_call(o, 0);
  if (!h.ok()) std::abort();
  (void)server.handle("cli", bytes, 1);
  (void)client.handle("srv", bytes, 1);
  server.tick(100000);
  client.tick(100000);
  while (server.poll_transmit()) {}
  while (server.poll_event()) {}
  while (client.poll_event()) {}
  if (client.active_calls() != 0) std::abort();  // the deadline ended the call
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> bytes(data, size);
  check_frame(bytes);
  auto ad = nitro::rpc::decode_advertisement(bytes);
  if (ad.ok()) {
    auto again = nitro::rpc::decode_advertisement(nitro::rpc::encode_advertisement(*ad));
    if (!again.ok()) std::abort();
  }
  check_engine(bytes);
  return 0;
}
