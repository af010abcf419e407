// Embind glue for nitro::Presence (attached to a NodeCore under channel "presence"). Conversion
// only: renewal, timeouts and the wire are in core/src/presence/presence.cpp. Errors are values.
#include "convert.h"
#include "node_core.h"
#include "nitro/presence.h"

namespace nitro::bind {
namespace {

Presence* presence_of(NodeCore& core) {
  return dynamic_cast<Presence*>(core.node().protocol(Presence::kChannel));
}

// Attaches the node's Presence once (later calls find it). opts: { renewMs, timeoutMs }.
// Returns an error value or undefined.
val presence_attach(NodeCore& core, const val& opts) {
  if (presence_of(core)) return val::undefined();
  PresenceConfig config;
  for (auto s : {read_u64_field(opts, "renewMs", config.renew_ms), read_u64_field(opts, "timeoutMs", config.timeout_ms)}) {
    if (!s.ok()) return error_to_js(s);
  }
  auto p = Presence::create(config);
  if (!p.ok()) return error_to_js(p.status());
  Status s = core.node().add_protocol(Presence::kChannel, std::move(*p));
  return s.ok() ? val::undefined() : error_to_js(s);
}

val presence_open(NodeCore& core, const std::string& doc) {
  auto* p = presence_of(core);
  if (!p) return error_to_js(failed_precondition("presence: not attached"));
  Status s = p->open(doc);
  return s.ok() ? val::undefined() : error_to_js(s);
}

// state: msgpack bytes (Uint8Array) or null to remove this node's state.
val presence_set(NodeCore& core, const std::string& doc, const val& state) {
  auto* p = presence_of(core);
  if (!p) return error_to_js(failed_precondition("presence: not attached"));
  std::optional<Bytes> bytes;
  if (!state.isNull() && !state.isUndefined()) bytes = bytes_from_js(state);
  Status s = p->set_local(doc, std::move(bytes));
  return s.ok() ? val::undefined() : error_to_js(s);
}

void presence_close(NodeCore& core, const std::string& doc) {
  if (auto* p = presence_of(core)) p->close(doc);
}

// [[peer id, state bytes], ...] in peer id order; undefined when the document is not open.
val presence_states(NodeCore& core, const std::string& doc) {
  auto* p = presence_of(core);
  const auto* states = p ? p->states(doc) : nullptr;
  if (!states) return val::undefined();
  val out = val::array();
  std::size_t i = 0;
  for (const auto& [peer, e] : *states) {
    val pair = val::array();
    pair.set(0, peer.to_string());
    pair.set(1, bytes_to_js(e.state));
    out.set(i++, pair);
  }
  return out;
}

}  // namespace
}  // namespace nitro::bind

EMSCRIPTEN_BINDINGS(nitro_presence) {
  emscripten::function("presenceAttach", &nitro::bind::presence_attach);
  emscripten::function("presenceOpen", &nitro::bind::presence_open);
  emscripten::function("presenceSet", &nitro::bind::presence_set);
  emscripten::function("presenceClose", &nitro::bind::presence_close);
  emscripten::function("presenceStates", &nitro::bind::presence_states);
}
