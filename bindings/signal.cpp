// Embind glue for WebRTC signalling (nitro::signal::SignalProtocol): attach it to a NodeCore and
// pass the host's side of a session in and out. Conversion only; the rules live in core/src/signal.
// Handles are JS numbers, peer ids base32 text, SDP and candidates strings; errors are values.
#include <cmath>
#include <string>

#include "bytes.h"
#include "node_core.h"
#include "nitro/signal.h"

namespace nitro::bind {
namespace {

signal::SignalProtocol* protocol_of(NodeCore& core) {
  return dynamic_cast<signal::SignalProtocol*>(core.node().protocol(signal::kChannel));
}

std::uint64_t ms_from_js(double now_ms) {
  if (!std::isfinite(now_ms) || now_ms < 0) return 0;
  return static_cast<std::uint64_t>(std::min(now_ms, 9007199254740991.0));
}

Status size_field(const val& opts, const char* key, std::size_t& out) {
  const val x = opts[key];
  if (x.isUndefined()) return Status::ok_status();
  if (!x.isNumber()) return invalid_argument(std::string("webrtc: ") + key + " must be a number");
  const double d = x.as<double>();
  if (!std::isfinite(d) || d < 1 || d > 1e9 || std::trunc(d) != d) {
    return invalid_argument(std::string("webrtc: ") + key + " must be an integer in 1..1e9");
  }
  out = static_cast<std::size_t>(d);
  return Status::ok_status();
}

// opts: { webrtc: boolean, maxConnections?, sessionTimeoutMs?, relayFanout? }
val signal_attach(NodeCore& core, const val& opts) {
  signal::SignalConfig c;
  c.webrtc = opts["webrtc"].isTrue();
  std::size_t timeout_ms = c.timers.session_timeout_ms;
  Status s = size_field(opts, "maxConnections", c.limits.sessions_max);
  if (s.ok()) s = size_field(opts, "sessionTimeoutMs", timeout_ms);
  if (s.ok()) s = size_field(opts, "relayFanout", c.limits.relay_fanout_max);
  if (!s.ok()) return error_to_js(s);
  c.timers.session_timeout_ms = timeout_ms;
  s = core.node().add_protocol(signal::kChannel, std::make_unique<signal::SignalProtocol>(c));
  return s.ok() ? val::undefined() : error_to_js(s);
}

val signal_dial(NodeCore& core, const std::string& peer, double now_ms) {
  auto* p = protocol_of(core);
  if (!p) return error_to_js(failed_precondition("webrtc: signalling is not attached"));
  auto id = PeerId::parse(peer);
  if (!id.ok()) return error_to_js(id.status());
  auto handle = p->dial(*id, ms_from_js(now_ms));
  if (!handle.ok()) return error_to_js(handle.status());
  return val(*handle);
}

// kind: 'offer' | 'answer' | 'candidate'
val signal_local(NodeCore& core, double handle, const std::string& kind, const std::string& text,
                 const std::string& mid, double now_ms) {
  auto* p = protocol_of(core);
  if (!p) return error_to_js(failed_precondition("webrtc: signalling is not attached"));
  signal::Kind k;
  if (kind == "offer") k = signal::Kind::kOffer;
  else if (kind == "answer") k = signal::Kind::kAnswer;
  else if (kind == "candidate") k = signal::Kind::kCandidate;
  else return error_to_js(invalid_argument("webrtc: kind must be offer, answer or candidate"));
  if (!(handle >= 0 && handle <= 4294967295.0)) return error_to_js(not_found("webrtc: no such session"));
  Status s = p->local(static_cast<std::uint32_t>(handle), k, text, mid, ms_from_js(now_ms));
  return s.ok() ? val::undefined() : error_to_js(s);
}

val signal_opened(NodeCore& core, double handle, double now_ms) {
  auto* p = protocol_of(core);
  if (!p) return error_to_js(failed_precondition("webrtc: signalling is not attached"));
  if (!(handle >= 0 && handle <= 4294967295.0)) return error_to_js(not_found("webrtc: no such session"));
  Status s = p->opened(static_cast<std::uint32_t>(handle), ms_from_js(now_ms));
  return s.ok() ? val::undefined() : error_to_js(s);
}

void signal_closed(NodeCore& core, double handle, double now_ms) {
  auto* p = protocol_of(core);
  if (p && handle >= 0 && handle <= 4294967295.0) p->closed(static_cast<std::uint32_t>(handle), ms_from_js(now_ms));
}

val signal_stats(NodeCore& core) {
  auto* p = protocol_of(core);
  val out = val::object();
  if (!p) return out;
  const auto& s = p->stats();
  out.set("dialed", double(s.dialed));
  out.set("accepted", double(s.accepted));
  out.set("opened", double(s.opened));
  out.set("closed", double(s.closed));
  out.set("timedOut", double(s.timed_out));
  out.set("signalsSent", double(s.signals_sent));
  out.set("signalsReceived", double(s.signals_received));
  out.set("relayed", double(s.relayed));
  out.set("relayUnroutable", double(s.relay_unroutable));
  out.set("refusedDecode", double(s.refused_decode));
  out.set("refusedInvalid", double(s.refused_invalid));
  out.set("refusedUnknownSession", double(s.refused_unknown_session));
  out.set("refusedFlood", double(s.refused_flood));
  out.set("refusedForged", double(s.refused_forged));
  out.set("refusedDisabled", double(s.refused_disabled));
  out.set("sessions", double(p->session_count()));
  out.set("open", double(p->open_count()));
  return out;
}

}  // namespace

EMSCRIPTEN_BINDINGS(nitro_signal) {
  emscripten::function("signalAttach", &signal_attach);
  emscripten::function("signalDial", &signal_dial);
  emscripten::function("signalLocal", &signal_local);
  emscripten::function("signalOpened", &signal_opened);
  emscripten::function("signalClosed", &signal_closed);
  emscripten::function("signalStats", &signal_stats);
}

}  // namespace nitro::bind
