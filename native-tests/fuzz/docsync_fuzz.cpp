// Fuzz target: the doc-sync channel decoder must be total, and whatever it accepts re-encodes to
// a message that decodes to the same fields (the encoder's fixed key order may differ from the
// input's, so bytes are compared only after one round trip). The same bytes also go through the
// gossip payload decoder (a bin, or [bin, token reference]), which must round-trip exactly.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "nitro/docsync.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto g = nitro::crdt::decode_gossip_update(std::span<const std::uint8_t>(data, size));
  if (!g.ok() && g.status().code() != nitro::Code::kDecodeError) std::abort();
  if (g.ok()) {
    auto again = nitro::crdt::decode_gossip_update(nitro::crdt::encode_gossip_update(g->update, g->token));
    if (!again.ok() || again->update != g->update || again->token != g->token) std::abort();
  }
  auto m = nitro::crdt::decode_sync_message(std::span<const std::uint8_t>(data, size));
  if (!m.ok()) {
    if (m.status().code() != nitro::Code::kDecodeError) std::abort();
    return 0;
  }
  const nitro::Bytes once = nitro::crdt::encode_sync_message(*m);
  auto back = nitro::crdt::decode_sync_message(once);
  if (!back.ok() || nitro::crdt::encode_sync_message(*back) != once) std::abort();
  if (back->doc != m->doc || back->bytes != m->bytes || back->writers != m->writers || back->token != m->token) std::abort();
  return 0;
}
