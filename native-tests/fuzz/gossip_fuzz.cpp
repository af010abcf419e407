// Fuzz target: the node's frame path must be total. Each input is fed to Node::handle() twice:
// raw (as if a transport delivered garbage) and sealed by a genuine peer's SecureLink, so the
// bytes reach the gossip frame decoder and the membership/broadcast dispatch behind it. Any
// outcome but a crash, a sanitizer report or an unbounded output is fine.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "nitro/link.h"
#include "nitro/node.h"

namespace {

nitro::NodeConfig node_config() {
  nitro::NodeConfig c;
  c.identity_seed[0] = 2;
  c.listen_address = "b";
  return c;
}

void drain(nitro::Node& node, nitro::crypto::SecureLink* peer) {
  for (int i = 0; i < 10000; ++i) {
    auto t = node.poll_transmit();
    if (!t) break;
    if (peer) (void)peer->handle(t->bytes);
  }
  for (int i = 0; i < 10000 && node.poll_event(); ++i) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto identity_a = nitro::crypto::Identity::from_seed(nitro::crypto::Seed{1});
  nitro::Node b(node_config());
  b.start(0);
  (void)b.handle("a", std::span(data, size), 1);  // no link yet: refused
  b.connect("a", false, 1);
  (void)b.handle("a", std::span(data, size), 2);  // raw garbage during the handshake
  drain(b, nullptr);

  b.connect("a", false, 3);
  auto a = nitro::crypto::SecureLink::initiator(identity_a, nitro::crypto::Seed{7});
  for (int round = 0; round < 4 && !a.established(); ++round) {
    while (auto f = a.poll_transmit()) (void)b.handle("a", *f, 4);
    drain(b, &a);
  }
  if (!a.established()) std::abort();
  while (a.poll_event()) {
  }
  if (a.send(std::span(data, size)).ok()) {
    while (auto f = a.poll_transmit()) (void)b.handle("a", *f, 5);
  }
  drain(b, &a);
  b.tick(1000000);
  drain(b, &a);
  return 0;
}
