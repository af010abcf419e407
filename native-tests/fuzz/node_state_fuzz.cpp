// Fuzz target: restoring a node from stored bytes is total. The input is tried as a save_state()
// snapshot and as each kind of durable record ("node/peers", "node/seq/<topic>", "node/identity");
// each attempt either restores (and what it restored saves and restores again to the same node)
// or is a typed error, never a crash.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "nitro/node.h"

using namespace nitro;

namespace {

NodeConfig config() {
  NodeConfig c;
  c.identity_seed[0] = 1;
  c.entropy[0] = 2;
  c.listen_address = "a";
  return c;
}

bool typed(Code c) { return c == Code::kDecodeError || c == Code::kNotFound || c == Code::kFailedPrecondition; }

void check(const Result<std::unique_ptr<Node>>& r) {
  if (!r.ok()) {
    if (!typed(r.status().code())) std::abort();
    return;
  }
  Node& n = **r;
  (void)n.publish("t", Bytes{1}, 0);  // a restored node works
  auto again = Node::restore(config(), n.save_state());
  if (!again.ok() || (*again)->id() != n.id()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Bytes in(data, data + size);
  NodeConfig unspecified = config();
  unspecified.identity_seed = {};
  check(Node::restore(unspecified, in));
  StoredRecords base;
  const NodeConfig known = config();  // one object: begin() and end() of the same seed
  base["node/identity"] = Bytes(known.identity_seed.begin(), known.identity_seed.end());
  for (const char* key : {"node/peers", "node/seq/t", "node/identity", "node/state"}) {
    StoredRecords records = base;
    records[key] = in;
    check(Node::restore(config(), records));
  }
  return 0;
}
