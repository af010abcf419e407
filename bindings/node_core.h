// The JS-owned handle of one nitro::Node (embind class "NodeCore", defined in bindings/node.cpp).
//
// Hook for other bindings (RPC, CRDT sync, beacon): a binding that attaches a C++ nitro::Protocol
// takes `NodeCore&` as an argument and calls `core.node().add_protocol(channel, ...)`; its JS
// layer passes `nitroNode.core` and runs the call through `nitroNode.run(...)` so the node's
// output is drained afterwards (see js/src/host/node.ts). Glue only — no logic lives here.
#pragma once

#include <memory>
#include <utility>

#include "nitro/node.h"

namespace nitro::bind {

class NodeCore {
 public:
  explicit NodeCore(std::unique_ptr<Node> node) : node_(std::move(node)) {}
  Node& node() { return *node_; }
  const Node& node() const { return *node_; }

 private:
  std::unique_ptr<Node> node_;
};

}  // namespace nitro::bind
