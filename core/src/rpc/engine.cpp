// The RPC engine: call state machines for both sides, matched strictly by (peer, wire call id).
// See nitro/rpc.h for the contract. Wire call ids are (session << 32 | counter): the session is
// drawn from the injected seed, so a restarted client does not reuse ids of its previous run, and
// the server's anti-replay window is kept per (peer, session).
#include <algorithm>

#include "nitro/rpc.h"
#include "rpc/internal.h"

namespace nitro::rpc {

using namespace detail;
std::uint64_t Engine::Entropy::next() {
  state += 0x9e3779b97f4a7c15ull;
  std::uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

Engine::Engine(PeerKey self, std::uint64_t seed, EngineConfig config)
    : self_(std::move(self)), config_(config), entropy_{seed}, session_(0), balancer_(seed ^ 0x5bd1e995ull, config.outlier) {
  session_ = entropy_.next() & kSessionMask;
  assert(config_.window > 0 && config_.window <= config_.limits.window_max);
  assert(config_.dedupe_window > 0);
}

Status validate(const EngineConfig& c) {
  if (c.window == 0 || c.window > c.limits.window_max) return invalid_argument("rpc config: window must be 1..limits.window_max");
  if (c.retransmit_ms < 0) return invalid_argument("rpc config: retransmit_ms must be >= 0");
  if (c.reconnect_grace_ms < 0) return invalid_argument("rpc config: reconnect_grace_ms must be >= 0");
  if (c.calls_max == 0) return invalid_argument("rpc config: calls_max must be > 0");
  if (c.transmit_queue_max == 0) return invalid_argument("rpc config: transmit_queue_max must be > 0");
  if (c.event_queue_max == 0) return invalid_argument("rpc config: event_queue_max must be > 0");
  if (c.dedupe_window == 0) return invalid_argument("rpc config: dedupe_window must be > 0");
  if (c.dedupe_peers_max == 0) return invalid_argument("rpc config: dedupe_peers_max must be > 0");
  if (c.sessions_per_peer_max == 0) return invalid_argument("rpc config: sessions_per_peer_max must be > 0");
  if (c.limits.frame_bytes_max == 0) return invalid_argument("rpc config: limits.frame_bytes_max must be > 0");
  if (c.outlier.base_ejection_ms < 0 || c.outlier.max_ejection_ms < c.outlier.base_ejection_ms) {
    return invalid_argument("rpc config: outlier.base_ejection_ms must be 0..outlier.max_ejection_ms");
  }
  return {};
}

Result<std::unique_ptr<Engine>> Engine::create(PeerKey self, std::uint64_t seed, EngineConfig config) {
  NITRO_TRY(validate(config));
  return std::make_unique<Engine>(std::move(self), seed, config);
}

// ------------------------------------------------------------------------------------ driving

Status Engine::handle(const PeerKey& from, std::span<const std::uint8_t> bytes, std::int64_t now_ms) {
  auto decoded = decode_frame(bytes, config_.limits);
  if (!decoded.ok()) return decoded.status();
  Frame& f = *decoded;
  switch (f.type) {
    case FrameType::kRequest: on_request(from, std::move(f), now_ms); break;
    case FrameType::kResponse: on_response(from, std::move(f), now_ms); break;
    case FrameType::kStreamMsg: on_stream_msg(from, std::move(f), now_ms); break;
    case FrameType::kStreamEnd: on_stream_end(from, f, now_ms); break;
    case FrameType::kCredit: on_credit(from, f); break;
    case FrameType::kCancel: on_cancel(from, f); break;
  }
  return {};
}

void Engine::tick(std::int64_t now_ms) {
  std::vector<CallHandle> due;
  for (const auto& [h, c] : calls_) {
    std::int64_t at = std::min(c.deadline_at_ms, c.attempt_deadline_at_ms);
    if (c.is_client && !c.heard) at = std::min({at, c.retransmit_at_ms, c.parked_until_ms});
    if (at <= now_ms) due.push_back(h);
  }
  for (CallHandle h : due) {
    auto it = calls_.find(h);
    if (it == calls_.end()) continue;
    Call& c = it->second;
    if (!c.is_client) {
      if (c.deadline_at_ms <= now_ms) {
        remember_done(c.peer, c.wire_id, nullptr);
        end_server_call(h, deadline_exceeded("deadline exceeded"), true);
      }
    } else if (c.deadline_at_ms <= now_ms) {
      Frame cancel = control_frame(FrameType::kCancel, c.wire_id);
      cancel.code = Code::kDeadlineExceeded;  // the handler learns why, even before its own timer
      push_frame(c.peer, cancel);
      finish_client(h, c, deadline_exceeded("deadline exceeded"), {}, {}, {}, now_ms);
    } else if (c.attempt_deadline_at_ms <= now_ms) {
      push_frame(c.peer, control_frame(FrameType::kCancel, c.wire_id));
      if (!maybe_retry(h, c, Code::kDeadlineExceeded, now_ms)) {
        finish_client(h, c, deadline_exceeded("attempt deadline exceeded"), {}, {}, {}, now_ms);
      }
    } else if (!c.heard && c.parked_until_ms <= now_ms) {
      finish_client(h, c, unavailable("peer disconnected"), {}, {}, {}, now_ms);
    } else if (!c.heard && c.retransmit_at_ms <= now_ms) {
      ++c.retransmits;
      send_request(c, now_ms);
      int shift = static_cast<int>(std::min<std::uint32_t>(c.retransmits, 6));
      c.retransmit_at_ms = c.retransmits >= config_.retransmits_max ? kNoDeadline
                                                                    : now_ms + (config_.retransmit_ms << shift);
    }
  }
}

std::optional<Transmit> Engine::poll_transmit() {
  if (transmits_.empty()) return std::nullopt;
  Transmit t = std::move(transmits_.front());
  transmits_.pop_front();
  return t;
}

std::optional<Event> Engine::poll_event() {
  if (events_.empty()) return std::nullopt;
  Event e = std::move(events_.front());
  events_.pop_front();
  return e;
}

std::optional<std::int64_t> Engine::next_deadline() const {
  std::int64_t at = kNoDeadline;
  for (const auto& [h, c] : calls_) {
    at = std::min({at, c.deadline_at_ms, c.attempt_deadline_at_ms});
    if (c.is_client && !c.heard) at = std::min({at, c.retransmit_at_ms, c.parked_until_ms});
  }
  if (at == kNoDeadline) return std::nullopt;
  return at;
}

void Engine::peer_down(const PeerKey& peer, std::int64_t now_ms) {
  std::vector<CallHandle> affected;
  for (const auto& [h, c] : calls_) {
    if (c.peer == peer) affected.push_back(h);
  }
  for (CallHandle h : affected) {
    auto it = calls_.find(h);
    if (it == calls_.end()) continue;
    Call& c = it->second;
    if (!c.is_client) {
      remember_done(c.peer, c.wire_id, nullptr);
      end_server_call(h, Status(Code::kCancelled, "the calling peer disconnected"), true);
    } else if (!maybe_retry(h, c, Code::kUnavailable, now_ms) && !park(c, now_ms)) {
      finish_client(h, c, unavailable("peer disconnected"), {}, {}, {}, now_ms);
    }
  }
}

// A request nobody answered yet may have gone down a link that was dead before anyone noticed (a
// peer that crashed and restarted): it waits a bounded time for a new link to the same peer.
bool Engine::park(Call& c, std::int64_t now_ms) {
  const bool restartable = c.kind == StreamKind::kUnary || (c.kind == StreamKind::kServerStream && c.in.next_seq == 0);
  if (config_.reconnect_grace_ms == 0 || c.heard || !restartable) return false;
  if (c.parked_until_ms == kNoDeadline) c.parked_until_ms = std::min(c.deadline_at_ms, now_ms + config_.reconnect_grace_ms);
  return now_ms < c.parked_until_ms;
}

void Engine::peer_up(const PeerKey& peer, std::int64_t now_ms) {
  for (auto& [h, c] : calls_) {
    if (!c.is_client || c.peer != peer || c.heard || c.parked_until_ms == kNoDeadline) continue;
    c.parked_until_ms = kNoDeadline;
    send_request(c, now_ms);
    if (config_.retransmit_ms > 0) c.retransmit_at_ms = now_ms + config_.retransmit_ms;
  }
}

void Engine::peer_unreachable(const PeerKey& peer, std::int64_t now_ms) {
  std::vector<CallHandle> unsent;
  for (const auto& [h, c] : calls_) {
    const bool picked = c.options.peer.empty();
    const bool fresh = !c.heard && c.retransmits == 0 && c.attempt_started_ms == now_ms;
    const bool restartable = c.kind == StreamKind::kUnary || c.kind == StreamKind::kServerStream;
    if (c.is_client && c.peer == peer && picked && fresh && restartable) unsent.push_back(h);
  }
  for (CallHandle h : unsent) {
    Call& c = calls_.at(h);
    client_by_wire_.erase(c.wire_id);
    if (!start_attempt(h, c, now_ms).ok()) finish_client(h, c, unavailable("no reachable instance"), {}, {}, {}, now_ms);
  }
  peer_down(peer, now_ms);
}

void Engine::push_frame(const PeerKey& to, const Frame& frame) {
  // The host drains after every call; a full queue means it does not, and the protocol tolerates
  // a lost frame (deadlines end what it leaves hanging), so the frame is dropped.
  if (transmits_.size() >= config_.transmit_queue_max) return;
  Transmit t{to, {}};
  encode_frame(frame, t.bytes);
  transmits_.push_back(std::move(t));
}

void Engine::push_event(Event event) { events_.push_back(std::move(event)); }

Status Engine::check_call(CallHandle call) const {
  if (!calls_.count(call)) return not_found("no active call " + std::to_string(call));
  if (transmits_.size() >= config_.transmit_queue_max) return resource_exhausted("transmit queue full: drain poll_transmit");
  return {};
}

}  // namespace nitro::rpc
