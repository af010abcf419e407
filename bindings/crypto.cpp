// Embind glue for identities, secure links and signed envelopes. Conversion only: bytes as
// Uint8Array, peer ids as their base32 text, errors as values (convert.h error_to_js).
#include "convert.h"
#include "nitro/envelope.h"
#include "nitro/identity.h"
#include "nitro/link.h"

namespace nitro::bind {
namespace {

using crypto::Envelope;
using crypto::Identity;
using crypto::LinkEvent;
using crypto::LinkLimits;
using crypto::PeerId;
using crypto::SecureLink;

std::optional<crypto::Seed> seed_from_js(const val& v) {
  crypto::Seed s{};
  if (!bytes_into(v, s)) return std::nullopt;
  return s;
}

val bad_seed() { return error_to_js(invalid_argument("seed must be 32 bytes")); }

val identity_from_seed(const val& seed) {
  auto s = seed_from_js(seed);
  if (!s) return bad_seed();
  return val(Identity::from_seed(*s));
}

std::string identity_peer_id(const Identity& id) { return id.peer_id().to_string(); }
val identity_public_key(const Identity& id) { return bytes_to_js(id.peer_id().bytes()); }
val identity_sign(const Identity& id, const val& message) { return bytes_to_js(id.sign(bytes_from_js(message))); }
val identity_export_seed(const Identity& id) { return bytes_to_js(id.export_seed()); }

// Peer id text -> public key bytes, or an error value.
val peer_id_parse(const std::string& text) {
  auto id = PeerId::parse(text);
  if (!id.ok()) return error_to_js(id.status());
  return bytes_to_js(id->bytes());
}

val peer_id_from_bytes(const val& bytes) {
  auto id = PeerId::from_bytes(bytes_from_js(bytes));
  if (!id.ok()) return error_to_js(id.status());
  return val(id->to_string());
}

bool peer_id_verify(const std::string& peer, const val& message, const val& signature) {
  auto id = PeerId::parse(peer);
  return id.ok() && id->verify(bytes_from_js(message), bytes_from_js(signature));
}

LinkLimits limits_from_js(const val& v) {
  LinkLimits limits;
  if (v.isUndefined() || v.isNull()) return limits;
  auto get = [&](const char* key, std::size_t& field) {
    val x = v[key];
    if (x.isNumber()) {
      auto n = safe_u64(x);
      if (n && *n > 0) field = static_cast<std::size_t>(*n);
    }
  };
  get("plaintextBytesMax", limits.plaintext_bytes_max);
  get("transmitQueueMax", limits.transmit_queue_max);
  get("eventQueueMax", limits.event_queue_max);
  return limits;
}

val link_create(bool initiator, const Identity& id, const val& ephemeral_seed, const std::string& expected_peer,
                const val& limits) {
  auto s = seed_from_js(ephemeral_seed);
  if (!s) return bad_seed();
  std::optional<PeerId> expected;
  if (!expected_peer.empty()) {
    auto p = PeerId::parse(expected_peer);
    if (!p.ok()) return error_to_js(p.status());
    expected = *p;
  }
  const LinkLimits l = limits_from_js(limits);
  return initiator ? val(SecureLink::initiator(id, *s, expected, l)) : val(SecureLink::responder(id, *s, expected, l));
}

val status_to_js(const Status& s) { return s.ok() ? val::undefined() : error_to_js(s); }
val link_handle(SecureLink& link, const val& frame) { return status_to_js(link.handle(bytes_from_js(frame))); }
val link_send(SecureLink& link, const val& data) { return status_to_js(link.send(bytes_from_js(data))); }

val link_poll_transmit(SecureLink& link) {
  auto frame = link.poll_transmit();
  return frame ? bytes_to_js(*frame) : val::undefined();
}

val link_poll_event(SecureLink& link) {
  auto event = link.poll_event();
  if (!event) return val::undefined();
  val out = val::object();
  switch (event->kind) {
    case LinkEvent::Kind::kEstablished:
      out.set("type", std::string("established"));
      out.set("peer", event->peer.to_string());
      break;
    case LinkEvent::Kind::kFailed:
      out.set("type", std::string("failed"));
      out.set("error", error_to_js(event->status));
      break;
    case LinkEvent::Kind::kMessage:
      out.set("type", std::string("message"));
      out.set("data", bytes_to_js(event->message));
      break;
  }
  return out;
}

std::string link_state(const SecureLink& link) {
  switch (link.state()) {
    case crypto::LinkState::kHandshaking: return "handshaking";
    case crypto::LinkState::kEstablished: return "established";
    case crypto::LinkState::kFailed: return "failed";
  }
  return "failed";
}

val link_remote_peer(const SecureLink& link) {
  const auto& peer = link.remote_peer();
  return peer ? val(peer->to_string()) : val::undefined();
}

val link_handshake_hash(const SecureLink& link) { return bytes_to_js(link.handshake_hash()); }
std::string link_last_error(const SecureLink& link) { return crypto::frame_error_name(link.last_error()); }

val link_counters(const SecureLink& link) {
  const auto& c = link.counters();
  val out = val::object();
  out.set("framesSent", static_cast<double>(c.frames_sent));
  out.set("framesReceived", static_cast<double>(c.frames_received));
  out.set("plaintextBytesSent", static_cast<double>(c.plaintext_bytes_sent));
  out.set("plaintextBytesReceived", static_cast<double>(c.plaintext_bytes_received));
  val rejected = val::object();
  for (std::size_t i = 1; i < crypto::kFrameErrorCount; ++i) {
    rejected.set(crypto::frame_error_name(static_cast<crypto::FrameError>(i)), static_cast<double>(c.rejected[i]));
  }
  out.set("rejected", rejected);
  out.set("rejectedTotal", static_cast<double>(c.rejected_total()));
  return out;
}

val envelope_to_js(const Envelope& e) {
  val out = val::object();
  out.set("origin", e.origin.to_string());
  out.set("seq", static_cast<double>(e.seq));
  out.set("timestampMs", static_cast<double>(e.timestamp_ms));
  out.set("topic", e.topic);
  out.set("payload", bytes_to_js(e.payload));
  out.set("signature", bytes_to_js(e.signature));
  return out;
}

val envelope_sign(const Identity& id, double seq, double timestamp_ms, const std::string& topic, const val& payload) {
  auto s = safe_u64(seq), t = safe_u64(timestamp_ms);
  if (!s || !t) return error_to_js(invalid_argument("seq and timestampMs must be safe non-negative integers"));
  auto env = Envelope::sign(id, *s, *t, topic, bytes_from_js(payload));
  if (!env.ok()) return error_to_js(env.status());
  return bytes_to_js(env->encode());
}

val envelope_open(const val& bytes) {
  auto env = Envelope::open(bytes_from_js(bytes));
  if (!env.ok()) return error_to_js(env.status());
  return envelope_to_js(*env);
}

crypto::ReplayGuard* replay_guard_create(double origins_max, double max_age_ms, double future_skew_ms) {
  crypto::ReplayGuardLimits limits;
  auto o = safe_u64(origins_max), a = safe_u64(max_age_ms), f = safe_u64(future_skew_ms);
  if (o && *o > 0) limits.origins_max = static_cast<std::size_t>(*o);
  if (a) limits.max_age_ms = *a;
  if (f) limits.future_skew_ms = *f;
  return new crypto::ReplayGuard(limits);
}

val replay_guard_accept(crypto::ReplayGuard& guard, const std::string& origin, double seq, double timestamp_ms,
                        double now_ms) {
  auto id = PeerId::parse(origin);
  if (!id.ok()) return error_to_js(id.status());
  auto s = safe_u64(seq), t = safe_u64(timestamp_ms), n = safe_u64(now_ms);
  if (!s || !t || !n) return error_to_js(invalid_argument("seq, timestampMs and nowMs must be safe non-negative integers"));
  return status_to_js(guard.accept(*id, *s, *t, *n));
}

double replay_guard_origins(const crypto::ReplayGuard& guard) { return static_cast<double>(guard.origins()); }
double replay_guard_evictions(const crypto::ReplayGuard& guard) { return static_cast<double>(guard.evictions()); }

}  // namespace
}  // namespace nitro::bind

EMSCRIPTEN_BINDINGS(nitro_crypto) {
  using namespace emscripten;
  using namespace nitro::bind;
  class_<nitro::crypto::Identity>("IdentityCore")
      .function("peerId", &identity_peer_id)
      .function("publicKey", &identity_public_key)
      .function("sign", &identity_sign)
      .function("exportSeed", &identity_export_seed);
  function("identityFromSeed", &identity_from_seed);
  function("peerIdParse", &peer_id_parse);
  function("peerIdFromBytes", &peer_id_from_bytes);
  function("peerIdVerify", &peer_id_verify);

  class_<nitro::crypto::SecureLink>("SecureLinkCore")
      .function("handle", &link_handle)
      .function("send", &link_send)
      .function("pollTransmit", &link_poll_transmit)
      .function("pollEvent", &link_poll_event)
      .function("state", &link_state)
      .function("remotePeer", &link_remote_peer)
      .function("handshakeHash", &link_handshake_hash)
      .function("lastError", &link_last_error)
      .function("counters", &link_counters);
  function("linkCreate", &link_create);

  class_<nitro::crypto::ReplayGuard>("ReplayGuardCore")
      .constructor(&replay_guard_create, allow_raw_pointers())
      .function("accept", &replay_guard_accept)
      .function("origins", &replay_guard_origins)
      .function("evictions", &replay_guard_evictions);

  function("envelopeSign", &envelope_sign);
  function("envelopeOpen", &envelope_open);
}
