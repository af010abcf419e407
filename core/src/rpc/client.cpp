// Client side of the engine (calls, attempts, retries) and the stream machinery both sides share
// (sequenced messages, credits, ends).
#include <algorithm>

#include "nitro/assert.h"
#include "nitro/rpc.h"
#include "rpc/internal.h"

namespace nitro::rpc {

using namespace detail;
Status Engine::check_options(const CallOptions& options) const {
  const auto& lim = config_.limits;
  if (options.method.empty() || options.method.size() > lim.name_bytes_max) return invalid_argument("bad method name");
  if (options.service.size() > lim.name_bytes_max) return invalid_argument("bad service name");
  if (options.peer.empty() && options.service.empty()) return invalid_argument("a call needs a peer or a service");
  if (options.timeout_ms <= 0) return invalid_argument("timeout_ms must be > 0");
  if (options.attempt_timeout_ms < 0) return invalid_argument("attempt_timeout_ms must be >= 0");
  if (options.metadata.size() > lim.metadata_entries_max) return invalid_argument("too much metadata");
  for (const auto& [k, v] : options.metadata) {
    if (k.size() > lim.name_bytes_max || v.size() > lim.metadata_value_bytes_max) return invalid_argument("metadata entry too long");
  }
  if (options.payload.size() > lim.frame_bytes_max / 2) return invalid_argument("request payload too large");
  if (calls_.size() >= config_.calls_max) return resource_exhausted("too many active calls");
  if (transmits_.size() >= config_.transmit_queue_max) return resource_exhausted("transmit queue full: drain poll_transmit");
  return {};
}

// The options move into the call; a call that cannot start hands them back (for its kDone event).
Status Engine::begin_call(CallHandle handle, CallOptions& options, std::int64_t now_ms) {
  auto it = calls_.try_emplace(handle).first;
  Call& call = it->second;
  call.kind = options.kind;
  call.deadline_at_ms = now_ms + options.timeout_ms;
  call.options = std::move(options);
  Status s = start_attempt(handle, call, now_ms);
  if (!s.ok()) {
    options = std::move(call.options);
    calls_.erase(it);
  }
  return s;
}

Result<CallHandle> Engine::start_call(CallOptions options, std::int64_t now_ms) {
  NITRO_TRY(check_options(options));
  CallHandle h = next_handle_++;
  NITRO_TRY(begin_call(h, options, now_ms));
  return h;
}

CallHandle Engine::reserve_handles(std::uint32_t n) {
  CallHandle first = next_handle_;
  next_handle_ += n;
  return first;
}

Status Engine::start_reserved_call(CallHandle handle, CallOptions options, std::int64_t now_ms) {
  if (handle == 0 || handle >= next_handle_ || calls_.count(handle)) return invalid_argument("handle not reserved or in use");
  Status s = check_options(options);
  if (s.ok()) s = begin_call(handle, options, now_ms);
  if (!s.ok()) {
    Event e = make_event(EventKind::kDone, handle, options.peer, options.kind);
    e.service = options.service;
    e.method = options.method;
    e.status = s;
    push_event(std::move(e));
  }
  return s;
}

Status Engine::fail_reserved(CallHandle handle, const CallOptions& options, Status status) {
  if (handle == 0 || handle >= next_handle_ || calls_.count(handle)) return invalid_argument("handle not reserved or in use");
  NITRO_ASSERT(!status.ok());
  Event e = make_event(EventKind::kDone, handle, options.peer, options.kind);
  e.service = options.service;
  e.method = options.method;
  e.status = std::move(status);
  push_event(std::move(e));
  return {};
}

Status Engine::start_attempt(CallHandle handle, Call& call, std::int64_t now_ms) {
  // The peers of earlier attempts are not picked again; a call's first attempt (almost every
  // call) has none, so it pays for no set entry.
  if (call.attempts > 0) call.tried.insert(call.peer);
  PeerKey peer = call.options.peer;
  if (peer.empty()) {
    registry_.live_peers(call.options.service, now_ms, candidates_);
    auto picked = balancer_.pick(call.options.service, candidates_, call.options.strategy, call.options.hash_key,
                                 call.tried, now_ms);
    if (!picked.ok()) return picked.status();
    peer = **picked;
  }
  if (next_seq_ > kSeqMask) {  // 2^32 calls: move to a fresh session
    session_ = (session_ + 1) & kSessionMask;
    next_seq_ = 1;
  }
  call.peer = std::move(peer);
  ++call.attempts;
  call.wire_id = (session_ << 32) | next_seq_++;
  client_by_wire_[call.wire_id] = handle;
  call.in = StreamIn{};
  call.out = StreamOut{};
  if (server_sends_stream(call.kind)) call.in.granted_limit = config_.window;
  call.heard = false;
  call.parked_until_ms = kNoDeadline;
  call.final_response.reset();
  call.retransmits = 0;
  call.attempt_started_ms = now_ms;
  call.attempt_deadline_at_ms = call.options.attempt_timeout_ms > 0 ? now_ms + call.options.attempt_timeout_ms : kNoDeadline;
  call.retransmit_at_ms = config_.retransmit_ms > 0 ? now_ms + config_.retransmit_ms : kNoDeadline;
  send_request(call, now_ms);
  return {};
}

// The frame borrows the call's service, method, metadata and payload for the encode and gives
// them back: every attempt and retransmission re-sends them, so they stay with the call.
void Engine::send_request(Call& call, std::int64_t now_ms) {
  CallOptions& o = call.options;
  Frame f = control_frame(FrameType::kRequest, call.wire_id);
  f.service.swap(o.service);
  f.method.swap(o.method);
  f.metadata.swap(o.metadata);
  f.payload.swap(o.payload);
  f.deadline_ms = static_cast<std::uint64_t>(std::max<std::int64_t>(1, call.deadline_at_ms - now_ms));
  f.content_type = o.content_type;
  f.flags = o.idempotent ? kFlagIdempotent : 0;
  f.kind = call.kind;
  f.window = server_sends_stream(call.kind) ? config_.window : 0;
  push_frame(call.peer, f);
  f.service.swap(o.service);
  f.method.swap(o.method);
  f.metadata.swap(o.metadata);
  f.payload.swap(o.payload);
}

Engine::Call* Engine::client_call_for(const PeerKey& from, std::uint64_t wire_id, CallHandle* handle) {
  auto it = client_by_wire_.find(wire_id);
  if (it == client_by_wire_.end()) return nullptr;
  Call& c = calls_.at(it->second);
  if (c.peer != from) return nullptr;  // same id from another peer: not this call's answer
  *handle = it->second;
  return &c;
}

void Engine::on_response(const PeerKey& from, Frame&& f, std::int64_t now_ms) {
  CallHandle h = 0;
  Call* c = client_call_for(from, f.call_id, &h);
  if (!c) return;
  c->heard = true;
  keep_header(*c, std::move(f.header));
  if (f.code != Code::kOk) {
    if (maybe_retry(h, *c, f.code, now_ms)) return;
    finish_client(h, *c, Status(f.code, std::move(f.message)), std::move(f.payload), std::move(f.metadata),
                  std::move(f.details), now_ms);
    return;
  }
  c->final_response = std::move(f);
  complete_response(h, *c, now_ms);
}

// An OK response ends the call once every stream message it counts has been delivered.
void Engine::complete_response(CallHandle handle, Call& call, std::int64_t now_ms) {
  if (!call.final_response || call.in.next_seq < call.final_response->seq) return;
  Frame f = std::move(*call.final_response);
  finish_client(handle, call, {}, std::move(f.payload), std::move(f.metadata), std::move(f.details), now_ms);
}

bool Engine::maybe_retry(CallHandle handle, Call& call, Code code, std::int64_t now_ms) {
  bool retryable_kind = call.kind == StreamKind::kUnary || (call.kind == StreamKind::kServerStream && call.in.next_seq == 0);
  if (!call.options.idempotent || !retryable_kind || !is_instance_failure(code)) return false;
  if (call.attempts > call.options.retries || now_ms >= call.deadline_at_ms) return false;
  balancer_.report(call.peer, false, now_ms);
  client_by_wire_.erase(call.wire_id);  // late answers to the old attempt are dropped
  call.header.clear();                  // the failed attempt's headers are not the answer's
  PeerKey old_peer = call.peer;
  std::uint64_t old_id = call.wire_id;
  if (!start_attempt(handle, call, now_ms).ok()) {
    call.peer = old_peer;  // nothing else to try: the caller finishes with the original error
    call.wire_id = old_id;
    return false;
  }
  return true;
}

void Engine::finish_client(CallHandle handle, Call& call, Status status, Bytes payload, Metadata trailer,
                           Value details, std::int64_t now_ms) {
  if (status.code() != Code::kCancelled) balancer_.report(call.peer, !is_instance_failure(status.code()), now_ms);
  client_by_wire_.erase(call.wire_id);
  // The call ends here: its strings move into the event.
  Event e;
  e.kind = EventKind::kDone;
  e.handle = handle;
  e.peer = std::move(call.peer);
  e.stream_kind = call.kind;
  e.service = std::move(call.options.service);
  e.method = std::move(call.options.method);
  e.metadata = std::move(trailer);
  if (!call.header_done) {
    call.header_done = true;
    e.header = std::move(call.header);
  }
  e.payload = std::move(payload);
  e.content_type = call.options.content_type;
  e.status = std::move(status);
  e.details = std::move(details);
  e.attempts = call.attempts;
  push_event(std::move(e));
  calls_.erase(handle);
}

Status Engine::cancel(CallHandle call, std::int64_t now_ms) {
  NITRO_TRY(check_call(call));
  Call& c = calls_.at(call);
  if (!c.is_client) return respond(call, Status(Code::kCancelled, "cancelled by the handler"), {}, {}, {}, now_ms);
  push_frame(c.peer, control_frame(FrameType::kCancel, c.wire_id));
  finish_client(call, c, Status(Code::kCancelled, "cancelled"), {}, {}, {}, now_ms);
  return {};
}

Status Engine::end_stream(CallHandle call, std::int64_t) {
  NITRO_TRY(check_call(call));
  Call& c = calls_.at(call);
  if (!c.is_client || !client_sends_stream(c.kind)) return failed_precondition("end_stream() is for client/bidi streams of the caller");
  if (c.out.ended) return failed_precondition("stream already ended");
  c.out.ended = true;
  push_frame(c.peer, control_frame(FrameType::kStreamEnd, c.wire_id, Dir::kFromClient, c.out.next_seq));
  return {};
}

Status Engine::send(CallHandle call, Bytes payload, std::int64_t) {
  NITRO_TRY(check_call(call));
  Call& c = calls_.at(call);
  if (!sends_stream(c.is_client, c.kind)) return failed_precondition("this side of the call does not stream");
  if (c.out.ended) return failed_precondition("stream already ended");
  if (payload.size() > config_.limits.frame_bytes_max / 2) return invalid_argument("stream message too large");
  if (c.out.next_seq >= c.out.limit) return resource_exhausted("no credit: wait for kWritable");
  Dir dir = c.is_client ? Dir::kFromClient : Dir::kFromServer;
  Frame f = control_frame(FrameType::kStreamMsg, c.wire_id, dir, c.out.next_seq++);
  f.payload = std::move(payload);
  take_header(c, f);
  push_frame(c.peer, f);
  return {};
}

std::uint64_t Engine::send_credit(CallHandle call) const {
  auto it = calls_.find(call);
  if (it == calls_.end() || it->second.out.ended) return 0;
  return it->second.out.limit - std::min(it->second.out.limit, it->second.out.next_seq);
}

Status Engine::consumed(CallHandle call, std::uint32_t n, std::int64_t) {
  NITRO_TRY(check_call(call));
  Call& c = calls_.at(call);
  StreamIn& in = c.in;
  in.consumed = std::min<std::uint64_t>(in.consumed + n, in.next_seq);
  std::uint64_t limit = in.consumed + config_.window;
  if (limit >= in.granted_limit + std::max<std::uint32_t>(1, config_.window / 2)) {
    in.granted_limit = limit;
    Dir dir = c.is_client ? Dir::kFromClient : Dir::kFromServer;
    push_frame(c.peer, control_frame(FrameType::kCredit, c.wire_id, dir, limit));
  }
  return {};
}

void Engine::on_stream_msg(const PeerKey& from, Frame&& f, std::int64_t now_ms) {
  CallHandle h = 0;
  Call* c = f.dir == Dir::kFromServer ? client_call_for(from, f.call_id, &h) : server_call_for(from, f.call_id, &h);
  if (!c || !receives_stream(c->is_client, c->kind)) return;
  if (c->is_client) c->heard = true;
  if (c->is_client && f.seq == 0) keep_header(*c, std::move(f.header));  // seq 0 is never buffered
  StreamIn& in = c->in;
  // Duplicates, frames beyond the granted credit (a misbehaving sender) and frames past the end
  // are dropped: the reorder buffer never holds more than the window.
  if (f.seq < in.next_seq || f.seq >= in.granted_limit) return;
  if (in.end_count && f.seq >= *in.end_count) return;
  if (f.seq != in.next_seq) {
    in.early.emplace(f.seq, std::move(f.payload));
    return;
  }
  deliver_in(h, *c, f.seq, std::move(f.payload));
  while (!in.early.empty() && in.early.begin()->first == in.next_seq) {
    auto node = in.early.extract(in.early.begin());
    deliver_in(h, *c, node.key(), std::move(node.mapped()));
  }
  check_end(h, *c, now_ms);
}

void Engine::deliver_in(CallHandle handle, Call& call, [[maybe_unused]] std::uint64_t seq, Bytes payload) {
  assert(seq == call.in.next_seq);
  ++call.in.next_seq;
  Event e = make_event(EventKind::kMessage, handle, call.peer, call.kind);
  e.payload = std::move(payload);
  e.content_type = call.options.content_type;
  if (call.is_client && !call.header_done) {
    call.header_done = true;
    e.header = std::move(call.header);
  }
  push_event(std::move(e));
}

void Engine::keep_header(Call& c, Metadata&& header) {
  if (!c.header_done && !header.empty()) c.header = std::move(header);
}

void Engine::check_end(CallHandle handle, Call& call, std::int64_t now_ms) {
  if (call.is_client) return complete_response(handle, call, now_ms);
  if (!call.in.end_delivered && call.in.end_count && call.in.next_seq == *call.in.end_count) {
    call.in.end_delivered = true;
    push_event(make_event(EventKind::kHalfClose, handle, call.peer, call.kind));
  }
}

void Engine::on_stream_end(const PeerKey& from, const Frame& f, std::int64_t now_ms) {
  if (f.dir != Dir::kFromClient) return;
  CallHandle h = 0;
  Call* c = server_call_for(from, f.call_id, &h);
  if (!c || !client_sends_stream(c->kind) || c->in.end_count) return;
  if (f.seq < c->in.next_seq) return;  // claims fewer messages than already delivered: bogus
  c->in.end_count = f.seq;
  check_end(h, *c, now_ms);
}

void Engine::on_credit(const PeerKey& from, const Frame& f) {
  CallHandle h = 0;
  Call* c = f.dir == Dir::kFromServer ? client_call_for(from, f.call_id, &h) : server_call_for(from, f.call_id, &h);
  if (!c || !sends_stream(c->is_client, c->kind)) return;
  if (c->is_client) c->heard = true;
  StreamOut& out = c->out;
  std::uint64_t limit = std::min<std::uint64_t>(f.seq, out.next_seq + config_.limits.window_max);
  if (limit <= out.limit) return;  // stale or duplicate credit
  bool was_blocked = out.next_seq >= out.limit;
  out.limit = limit;
  if (was_blocked && !out.ended) push_event(make_event(EventKind::kWritable, h, c->peer, c->kind));
}

}  // namespace nitro::rpc
