// NodeStats as a JS object, shared by the NodeCore (node.cpp) and SimCore (sim.cpp) glue.
#pragma once

#include "bytes.h"
#include "nitro/node.h"

namespace nitro::bind {

inline val stats_to_js(const NodeStats& s) {
  val out = val::object();
  auto put = [&out](const char* key, std::uint64_t n) { out.set(key, static_cast<double>(n)); };
  put("framesIn", s.frames_in);
  put("framesOut", s.frames_out);
  put("bytesIn", s.bytes_in);
  put("bytesOut", s.bytes_out);
  put("decodeErrors", s.decode_errors);
  put("authFailures", s.auth_failures);
  put("droppedBackpressure", s.dropped_backpressure);
  put("published", s.published);
  put("delivered", s.delivered);
  put("payloadsReceived", s.payloads_received);
  put("duplicatePayloads", s.duplicate_payloads);
  put("ihaveSent", s.ihave_sent);
  put("graftsSent", s.grafts_sent);
  put("prunesSent", s.prunes_sent);
  put("orderingGapsSkipped", s.ordering_gaps_skipped);
  put("neighborsUp", s.neighbors_up);
  put("neighborsDown", s.neighbors_down);
  put("suspicions", s.suspicions);
  put("deaths", s.deaths);
  put("handshakesOk", s.handshakes_ok);
  put("handshakesFailed", s.handshakes_failed);
  put("rekeys", s.rekeys);
  put("strikes", s.strikes);
  put("peersRefused", s.peers_refused);
  put("membershipRefused", s.membership_refused);
  return out;
}

}  // namespace nitro::bind
