// Fuzz target: the WebRTC signalling decoder and the protocol behind it must be total. Every input
// is decoded (an accepted frame must survive encode -> decode unchanged; a refusal must be a
// DECODE_ERROR or INVALID_ARGUMENT), then fed to a SignalProtocol as if a linked peer sent it, with
// its origin patched to that peer so it reaches the session logic. Sessions stay within the cap.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "nitro/signal.h"

namespace {

using namespace nitro;

class FakeContext final : public ProtocolContext {
 public:
  PeerId self, peer;
  std::size_t sent = 0, emitted = 0;
  const PeerId& local_id() const override { return self; }
  Status send(const PeerId&, std::span<const std::uint8_t>) override { ++sent; return Status::ok_status(); }
  Result<std::uint64_t> publish(const std::string&, std::span<const std::uint8_t>) override { return std::uint64_t{1}; }
  Status subscribe(const std::string&) override { return Status::ok_status(); }
  Status unsubscribe(const std::string&) override { return Status::ok_status(); }
  std::vector<PeerInfo> peers() const override { return {PeerInfo{peer, "x", "", true}}; }
  std::vector<PeerId> neighbors() const override { return {peer}; }
  void emit(Bytes) override { ++emitted; }
  void random_bytes(std::span<std::uint8_t> out) override { for (auto& b : out) b = 7; }
  std::uint64_t now_ms() const override { return 0; }
  void store_put(const std::string&, Bytes) override {}
  void store_delete(const std::string&) override {}
  StoredRecords take_restored() override { return {}; }
};

PeerId make_peer(std::uint8_t b) {
  std::array<std::uint8_t, crypto::kPeerIdBytes> k{};
  k.fill(b);
  return PeerId(k);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> in(data, size);
  const signal::SignalLimits limits;
  auto s = signal::decode(in, limits);
  if (!s.ok()) {
    const Code c = s.status().code();
    if (c != Code::kDecodeError && c != Code::kInvalidArgument) std::abort();
  } else {
    auto again = signal::decode(signal::encode(*s), limits);
    if (!again.ok() || again->text != s->text || again->mid != s->mid || again->session != s->session ||
        again->kind != s->kind || again->to != s->to || again->from != s->from || again->hops != s->hops) {
      std::abort();
    }
  }
  FakeContext ctx;
  ctx.self = make_peer(1);
  ctx.peer = make_peer(2);
  signal::SignalConfig config;
  config.webrtc = true;
  config.limits.sessions_max = 4;
  signal::SignalProtocol p(config);
  p.attach(ctx);
  (void)p.receive(ctx.peer, in, 1);
  if (s.ok()) {  // again as a well-addressed signal from the linked peer
    signal::Signal fixed = *s;
    fixed.to = ctx.self;
    fixed.from = ctx.peer;
    fixed.hops = 0;
    (void)p.receive(ctx.peer, signal::encode(fixed), 2);
  }
  p.tick(1'000'000);
  if (p.session_count() > config.limits.sessions_max) std::abort();
  return 0;
}
