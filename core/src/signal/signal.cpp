// SignalProtocol: sessions, relaying, bounds and timeouts of WebRTC signalling (nitro/signal.h).
#include <algorithm>

#include "nitro/assert.h"
#include "nitro/codec.h"
#include "nitro/signal.h"

namespace nitro::signal {
namespace {

constexpr std::uint64_t kSessionIdMask = (1ULL << 53) - 1;

}  // namespace

SignalProtocol::SignalProtocol(SignalConfig config) : config_(config) {
  NITRO_ASSERT(config_.limits.sessions_max >= 1);
  NITRO_ASSERT(config_.limits.relay_fanout_max >= 1);
  NITRO_ASSERT(config_.timers.window_ms >= 1);
}

void SignalProtocol::attach(ProtocolContext& ctx) { ctx_ = &ctx; }

std::size_t SignalProtocol::open_count() const {
  return static_cast<std::size_t>(std::count_if(sessions_.begin(), sessions_.end(),
                                                [](const auto& kv) { return kv.second.state == State::kOpen; }));
}

// ---- rate windows and refusals ------------------------------------------------------------------

bool SignalProtocol::within(std::size_t& used, std::size_t max, std::uint64_t now_ms) {
  if (now_ms >= window_start_ms_ + config_.timers.window_ms) {
    window_start_ms_ = now_ms;
    relays_in_window_ = signals_in_window_ = reports_in_window_ = 0;
  }
  if (used >= max) return false;
  ++used;
  return true;
}

void SignalProtocol::count(const Status& s) {
  switch (s.code()) {
    case Code::kDecodeError: stats_.refused_decode++; break;
    case Code::kInvalidArgument: stats_.refused_invalid++; break;
    case Code::kNotFound: stats_.refused_unknown_session++; break;
    case Code::kResourceExhausted: stats_.refused_flood++; break;
    case Code::kPermissionDenied: stats_.refused_forged++; break;
    case Code::kUnimplemented: stats_.refused_disabled++; break;
    default: break;
  }
}

void SignalProtocol::report(const Status& s, const PeerId& peer, std::uint64_t now_ms) {
  count(s);
  if (!within(reports_in_window_, config_.limits.refusals_reported_per_window_max, now_ms)) return;
  Map m;
  m.emplace_back(Value("t"), Value("refused"));
  m.emplace_back(Value("c"), Value(std::string(code_name(s.code()))));
  m.emplace_back(Value("m"), Value(s.message()));
  m.emplace_back(Value("p"), Value(peer.to_string()));
  ctx_->emit(codec::encode(Value(std::move(m))));
}

void SignalProtocol::emit_event(const std::string& type, std::uint32_t handle, const PeerId* peer,
                                const std::string* text, const std::string* mid) {
  Map m;
  m.emplace_back(Value("t"), Value(type));
  m.emplace_back(Value("h"), Value(static_cast<std::int64_t>(handle)));
  if (peer) m.emplace_back(Value("p"), Value(peer->to_string()));
  if (text) m.emplace_back(Value("d"), Value(*text));
  if (mid) m.emplace_back(Value("m"), Value(*mid));
  ctx_->emit(codec::encode(Value(std::move(m))));
}

// ---- routing ------------------------------------------------------------------------------------

bool SignalProtocol::linked(const PeerId& peer) const {
  for (const auto& info : ctx_->peers()) {
    if (info.peer == peer) return true;
  }
  return false;
}

// Directly when linked to the target, else through the relay its signals came by, else through up
// to relay_fanout_max linked peers (neighbors first: they are the likeliest to be linked to it).
Status SignalProtocol::route(const Signal& s, const Session* session) {
  const Bytes frame = encode(s);
  if (linked(s.to)) {
    stats_.signals_sent++;
    return ctx_->send(s.to, frame);
  }
  if (session && session->via && linked(*session->via)) {
    stats_.signals_sent++;
    return ctx_->send(*session->via, frame);
  }
  std::vector<PeerId> relays = ctx_->neighbors();
  for (const auto& info : ctx_->peers()) {
    if (std::find(relays.begin(), relays.end(), info.peer) == relays.end()) relays.push_back(info.peer);
  }
  std::size_t sent = 0;
  for (const auto& relay : relays) {
    if (sent >= config_.limits.relay_fanout_max) break;
    if (ctx_->send(relay, frame).ok()) ++sent;
  }
  if (sent == 0) return unavailable("signal: no linked peer to relay through");
  stats_.signals_sent++;
  return Status::ok_status();
}

void SignalProtocol::send_bye(const PeerId& peer, std::uint64_t wire_id, const Session* session) {
  Signal bye;
  bye.kind = Kind::kBye;
  bye.to = peer;
  bye.from = ctx_->local_id();
  bye.session = wire_id;
  (void)route(bye, session);  // best effort: the peer times the session out otherwise
}

// ---- host side ----------------------------------------------------------------------------------

Result<std::uint32_t> SignalProtocol::dial(const PeerId& peer, std::uint64_t now_ms) {
  NITRO_ASSERT(ctx_ != nullptr);
  if (!config_.webrtc) return Status(failed_precondition("webrtc: this node has no WebRTC transport"));
  if (peer == ctx_->local_id()) return Status(invalid_argument("webrtc: cannot dial self"));
  if (sessions_.size() >= config_.limits.sessions_max) return Status(resource_exhausted("webrtc: connection cap reached"));
  if (pending_with(peer) >= config_.limits.pending_per_peer_max) {
    return Status(resource_exhausted("webrtc: a session with this peer is already pending"));
  }
  std::uint64_t wire_id = 0;
  do {
    std::uint8_t r[8];
    ctx_->random_bytes(r);
    wire_id = 0;
    for (int i = 0; i < 8; ++i) wire_id |= static_cast<std::uint64_t>(r[i]) << (8 * i);
    wire_id &= kSessionIdMask;
  } while (wire_id == 0 || by_wire_.count({peer, wire_id}) != 0);
  const std::uint32_t handle = next_handle_++;
  Session& s = sessions_[handle];
  s.peer = peer;
  s.wire_id = wire_id;
  s.initiator = true;
  s.state = State::kLocalOffer;
  s.deadline_ms = now_ms + config_.timers.session_timeout_ms;
  by_wire_[{peer, wire_id}] = handle;
  stats_.dialed++;
  emit_event("offer", handle, &peer, nullptr, nullptr);
  return handle;
}

Status SignalProtocol::local(std::uint32_t handle, Kind kind, std::string text, std::string mid, std::uint64_t now_ms) {
  (void)now_ms;
  auto it = sessions_.find(handle);
  if (it == sessions_.end()) return not_found("webrtc: no such session");
  Session& s = it->second;
  if (kind == Kind::kCandidate && text.rfind("a=", 0) == 0) text.erase(0, 2);  // SDP attribute form
  Signal out;
  out.kind = kind;
  out.to = s.peer;
  out.from = ctx_->local_id();
  out.session = s.wire_id;
  out.text = std::move(text);
  out.mid = std::move(mid);
  switch (kind) {
    case Kind::kOffer:
      if (!s.initiator || s.state != State::kLocalOffer) return invalid_argument("webrtc: no offer expected");
      NITRO_TRY(check_sdp(out.text, config_.limits));
      s.state = State::kRemoteAnswer;
      break;
    case Kind::kAnswer:
      if (s.initiator || s.state != State::kLocalAnswer) return invalid_argument("webrtc: no answer expected");
      NITRO_TRY(check_sdp(out.text, config_.limits));
      s.state = State::kConnecting;
      break;
    case Kind::kCandidate:
      NITRO_TRY(check_candidate(out.text, out.mid, config_.limits));
      if (s.candidates_out >= config_.limits.candidates_per_session_max) return resource_exhausted("webrtc: too many candidates");
      s.candidates_out++;
      break;
    case Kind::kBye: return invalid_argument("webrtc: use closed() to end a session");
  }
  return route(out, &s);
}

Status SignalProtocol::opened(std::uint32_t handle, std::uint64_t now_ms) {
  (void)now_ms;
  auto it = sessions_.find(handle);
  if (it == sessions_.end()) return not_found("webrtc: no such session");
  if (it->second.state != State::kOpen) stats_.opened++;
  it->second.state = State::kOpen;
  return Status::ok_status();
}

void SignalProtocol::closed(std::uint32_t handle, std::uint64_t now_ms) {
  (void)now_ms;
  if (sessions_.count(handle) == 0) return;
  stats_.closed++;
  drop(handle, true);
}

void SignalProtocol::drop(std::uint32_t handle, bool tell_peer) {
  auto it = sessions_.find(handle);
  NITRO_ASSERT(it != sessions_.end());
  const Session s = it->second;
  by_wire_.erase({s.peer, s.wire_id});
  sessions_.erase(it);
  if (tell_peer) send_bye(s.peer, s.wire_id, &s);
}

std::size_t SignalProtocol::pending_with(const PeerId& peer) const {
  return static_cast<std::size_t>(std::count_if(sessions_.begin(), sessions_.end(), [&peer](const auto& kv) {
    return kv.second.peer == peer && kv.second.state != State::kOpen;
  }));
}

// ---- input --------------------------------------------------------------------------------------

void SignalProtocol::on_message(const PeerId& from, std::span<const std::uint8_t> bytes, std::uint64_t now_ms) {
  (void)receive(from, bytes, now_ms);
}

Status SignalProtocol::receive(const PeerId& from, std::span<const std::uint8_t> bytes, std::uint64_t now_ms) {
  NITRO_ASSERT(ctx_ != nullptr);
  auto s = decode(bytes, config_.limits);
  Status st = s.ok() ? on_signal(from, std::move(*s), now_ms) : s.status();
  if (!st.ok()) report(st, from, now_ms);
  return st;
}

Status SignalProtocol::on_signal(const PeerId& sender, Signal s, std::uint64_t now_ms) {
  // Hop 0 comes straight from its origin, which the secure link authenticated.
  if (s.hops == 0 && s.from != sender) return permission_denied("signal: origin is not the sender");
  if (s.to != ctx_->local_id()) {
    if (!within(relays_in_window_, config_.limits.relays_per_window_max, now_ms)) return resource_exhausted("signal: relay rate");
    return relay(sender, std::move(s));
  }
  if (!within(signals_in_window_, config_.limits.signals_per_window_max, now_ms)) return resource_exhausted("signal: rate");
  stats_.signals_received++;
  if (s.kind == Kind::kOffer) return on_offer(sender, s, now_ms);
  return on_session_signal(sender, s);
}

Status SignalProtocol::relay(const PeerId& sender, Signal s) {
  if (s.hops != 0) return permission_denied("signal: relayed twice");
  (void)sender;
  if (!linked(s.to)) {
    stats_.relay_unroutable++;  // sent to several relays: another one is likely linked
    return Status::ok_status();
  }
  s.hops = 1;
  stats_.relayed++;
  return ctx_->send(s.to, encode(s));
}

Status SignalProtocol::on_offer(const PeerId& via, const Signal& s, std::uint64_t now_ms) {
  if (by_wire_.count({s.from, s.session}) != 0) return Status::ok_status();  // a copy through another relay
  Session probe;
  if (s.hops == 1) probe.via = via;
  if (!config_.webrtc) {
    send_bye(s.from, s.session, &probe);
    return Status(Code::kUnimplemented, "signal: this node has no WebRTC transport");
  }
  if (sessions_.size() >= config_.limits.sessions_max || pending_with(s.from) >= config_.limits.pending_per_peer_max) {
    send_bye(s.from, s.session, &probe);
    return resource_exhausted("signal: connection cap reached");
  }
  const std::uint32_t handle = next_handle_++;
  Session& session = sessions_[handle];
  session = probe;
  session.peer = s.from;
  session.wire_id = s.session;
  session.initiator = false;
  session.state = State::kLocalAnswer;
  session.deadline_ms = now_ms + config_.timers.session_timeout_ms;
  by_wire_[{s.from, s.session}] = handle;
  stats_.accepted++;
  emit_event("accept", handle, &s.from, &s.text, nullptr);
  return Status::ok_status();
}

Status SignalProtocol::on_session_signal(const PeerId& via, const Signal& s) {
  auto key = by_wire_.find({s.from, s.session});
  if (key == by_wire_.end()) {
    if (s.kind == Kind::kBye) return Status::ok_status();  // both sides may say goodbye
    return not_found("signal: unknown session");
  }
  const std::uint32_t handle = key->second;
  Session& session = sessions_.at(handle);
  if (s.hops == 1) session.via = via;
  switch (s.kind) {
    case Kind::kAnswer:
      if (!session.initiator) return invalid_argument("signal: answer to a session we did not offer");
      if (session.state != State::kRemoteAnswer) return Status::ok_status();  // a copy through another relay
      session.state = State::kConnecting;
      emit_event("answer", handle, nullptr, &s.text, nullptr);
      return Status::ok_status();
    case Kind::kCandidate:
      if (session.candidates_in >= config_.limits.candidates_per_session_max) return resource_exhausted("signal: too many candidates");
      session.candidates_in++;
      emit_event("candidate", handle, nullptr, &s.text, &s.mid);
      return Status::ok_status();
    case Kind::kBye:
      emit_event("close", handle, nullptr, nullptr, nullptr);
      stats_.closed++;
      drop(handle, false);
      return Status::ok_status();
    case Kind::kOffer: break;
  }
  return invalid_argument("signal: unexpected offer");
}

// An open session whose peer has no link left: its channel closed (or carries nothing), and a host
// that missed it must not hold a slot of the cap forever.
void SignalProtocol::on_peer_down(const PeerId& peer, std::uint64_t now_ms) {
  (void)now_ms;
  std::vector<std::uint32_t> gone;
  for (const auto& [handle, s] : sessions_) {
    if (s.peer == peer && s.state == State::kOpen) gone.push_back(handle);
  }
  for (std::uint32_t handle : gone) {
    stats_.closed++;
    emit_event("close", handle, nullptr, nullptr, nullptr);
    drop(handle, false);
  }
}

// ---- timers -------------------------------------------------------------------------------------

void SignalProtocol::tick(std::uint64_t now_ms) {
  std::vector<std::uint32_t> expired;
  for (const auto& [handle, s] : sessions_) {
    if (s.state != State::kOpen && s.deadline_ms <= now_ms) expired.push_back(handle);
  }
  for (std::uint32_t handle : expired) {
    stats_.timed_out++;
    emit_event("close", handle, nullptr, nullptr, nullptr);
    drop(handle, true);
  }
}

std::optional<std::uint64_t> SignalProtocol::next_deadline() const {
  std::optional<std::uint64_t> t;
  for (const auto& [handle, s] : sessions_) {
    if (s.state != State::kOpen) t = t ? std::min(*t, s.deadline_ms) : s.deadline_ms;
  }
  return t;
}

}  // namespace nitro::signal
