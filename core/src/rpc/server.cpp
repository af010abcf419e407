// Server side of the engine: dispatch, at-most-once dedupe, responses, cancellation.
//
// Dedupe (after IPsec's anti-replay window): per (peer, client session) the engine keeps the
// highest call sequence seen and the outcome of the last `dedupe_window` sequences. A request is
// new (run it), active (a duplicate of a running call: ignore), done (replay the cached response,
// if it was kept) or stale (below the window: refuse silently). So a call id runs at most once
// while its peer's state is kept; peers and sessions beyond their bounds are evicted LRU. With
// durable dedupe (track_dedupe) the high-water marks also survive a restart: a restored session
// refuses the sequences at or below its mark (they may have run in the previous incarnation).
#include <algorithm>

#include "nitro/assert.h"
#include "nitro/rpc.h"
#include "rpc/internal.h"

namespace nitro::rpc {

using namespace detail;
void Engine::serve(const std::string& service) { services_.insert(service); }

Status Engine::register_method(const std::string& method, StreamKind kind) {
  if (method.empty() || method.size() > config_.limits.name_bytes_max) return invalid_argument("bad method name");
  methods_[method] = kind;
  return {};
}

void Engine::unregister_method(const std::string& method) { methods_.erase(method); }

Engine::Seen Engine::classify(const PeerKey& from, std::uint64_t wire_id, const Bytes** cached) {
  *cached = nullptr;
  if (find_server_call(from, wire_id) != server_by_wire_.end()) return Seen::kActive;
  auto pit = dedupe_.find(from);
  if (pit == dedupe_.end()) return Seen::kNew;
  auto sit = pit->second.sessions.find(wire_id >> 32);
  if (sit == pit->second.sessions.end()) return Seen::kNew;
  const SessionWindow& w = sit->second;
  std::uint64_t seq = wire_id & kSeqMask;
  auto dit = w.done.find(seq);
  if (dit != w.done.end()) {
    if (dit->second) *cached = &*dit->second;
    return Seen::kDone;
  }
  if (seq <= w.restored_high) return Seen::kMaybeRan;
  if (seq + config_.dedupe_window <= w.high) return Seen::kStale;
  return Seen::kNew;
}

// The window of (from, session of wire_id), advanced to cover wire_id; outcomes that fall below
// it are forgotten (their ids are refused as stale from now on).
Engine::SessionWindow& Engine::touch_window(const PeerKey& from, std::uint64_t wire_id) {
  PeerDedupe& peer = dedupe_[from];
  peer.last_used = ++dedupe_clock_;
  SessionWindow& w = peer.sessions[wire_id >> 32];
  w.last_used = dedupe_clock_;
  if ((wire_id & kSeqMask) > w.high) {
    w.high = wire_id & kSeqMask;
    if (track_dedupe_ && !w.dirty) dedupe_dirty_.insert({from, wire_id >> 32});
    w.dirty = track_dedupe_;
  }
  trim_dedupe(from, peer);
  while (!w.done.empty() && w.done.begin()->first + config_.dedupe_window <= w.high) {
    if (w.done.begin()->second) dedupe_cache_bytes_ -= w.done.begin()->second->size();
    w.done.erase(w.done.begin());
  }
  return w;
}

// Records that (from, wire_id) finished; `response` is cached for replay to duplicates.
void Engine::remember_done(const PeerKey& from, std::uint64_t wire_id, const Bytes* response) {
  SessionWindow& w = touch_window(from, wire_id);
  std::uint64_t seq = wire_id & kSeqMask;
  if (seq + config_.dedupe_window > w.high) {  // else below the window: refused as stale anyway
    std::optional<Bytes> keep;
    if (response && dedupe_cache_bytes_ + response->size() <= config_.dedupe_cache_bytes_max) {
      keep = *response;
      dedupe_cache_bytes_ += response->size();
    }
    auto& slot = w.done[seq];
    if (slot) dedupe_cache_bytes_ -= slot->size();
    slot = std::move(keep);
  }
}

// Bounds: sessions per peer and peers, each evicted least recently used. The entry just touched
// has the newest stamp, so it survives.
void Engine::trim_dedupe(const PeerKey& touched_peer, PeerDedupe& touched) {
  auto drop_session = [this](const PeerKey& peer, PeerDedupe& p, std::map<std::uint64_t, SessionWindow>::iterator it) {
    for (const auto& [seq, cached] : it->second.done) {
      if (cached) dedupe_cache_bytes_ -= cached->size();
    }
    if (track_dedupe_) dedupe_dirty_.insert({peer, it->first});  // taken as "forgotten"
    p.sessions.erase(it);
  };
  while (touched.sessions.size() > config_.sessions_per_peer_max) {
    auto lru = std::min_element(touched.sessions.begin(), touched.sessions.end(),
                                [](const auto& a, const auto& b) { return a.second.last_used < b.second.last_used; });
    drop_session(touched_peer, touched, lru);
  }
  while (dedupe_.size() > config_.dedupe_peers_max) {
    auto lru = std::min_element(dedupe_.begin(), dedupe_.end(),
                                [](const auto& a, const auto& b) { return a.second.last_used < b.second.last_used; });
    while (!lru->second.sessions.empty()) drop_session(lru->first, lru->second, lru->second.sessions.begin());
    dedupe_.erase(lru);
  }
}

std::vector<Engine::DedupeMark> Engine::take_dedupe_marks() {
  std::vector<DedupeMark> out;
  out.reserve(dedupe_dirty_.size());
  for (const auto& [peer, session] : dedupe_dirty_) {
    DedupeMark m{peer, session, std::nullopt};
    if (auto pit = dedupe_.find(peer); pit != dedupe_.end()) {
      if (auto sit = pit->second.sessions.find(session); sit != pit->second.sessions.end()) {
        m.high = sit->second.high;
        sit->second.dirty = false;
      }
    }
    out.push_back(std::move(m));
  }
  dedupe_dirty_.clear();
  return out;
}

// A mark from the previous incarnation: nothing of it is known but that sequences up to `high`
// may have run. Restored sessions count against the same bounds as live ones.
void Engine::restore_dedupe_mark(const PeerKey& peer, std::uint64_t session, std::uint64_t high) {
  PeerDedupe& p = dedupe_[peer];
  p.last_used = ++dedupe_clock_;
  SessionWindow& w = p.sessions[session];
  w.last_used = dedupe_clock_;
  w.high = std::max(w.high, high);
  w.restored_high = std::max(w.restored_high, high);
  trim_dedupe(peer, p);
}

void Engine::reject(const PeerKey& to, std::uint64_t wire_id, Code code, std::string message) {
  Frame f = control_frame(FrameType::kResponse, wire_id, Dir::kFromServer);
  f.code = code;
  f.message = std::move(message);
  push_frame(to, f);
}

void Engine::on_request(const PeerKey& from, Frame&& f, std::int64_t now_ms) {
  const Bytes* cached = nullptr;
  switch (classify(from, f.call_id, &cached)) {
    case Seen::kActive: {  // a retransmission: the client may have missed our credit
      CallHandle h = find_server_call(from, f.call_id)->second;
      Call& c = calls_.at(h);
      if (client_sends_stream(c.kind)) {
        push_frame(from, control_frame(FrameType::kCredit, f.call_id, Dir::kFromServer, c.in.granted_limit));
      }
      return;
    }
    case Seen::kDone:
      if (cached && transmits_.size() < config_.transmit_queue_max) transmits_.push_back(Transmit{from, *cached});
      return;
    case Seen::kStale: return;
    case Seen::kMaybeRan:
      return reject(from, f.call_id, Code::kAborted, "the server restarted; this call may have run before it, so it does not run again");
    case Seen::kNew: break;
  }
  if (!f.service.empty() && !services_.count(f.service)) {
    return reject(from, f.call_id, Code::kUnimplemented, "unknown service '" + f.service + "'");
  }
  auto mit = methods_.find(f.method);
  if (mit == methods_.end()) return reject(from, f.call_id, Code::kUnimplemented, "unknown method '" + f.method + "'");
  if (mit->second != f.kind) {
    return reject(from, f.call_id, Code::kUnimplemented,
                  "method '" + f.method + "' is " + stream_kind_name(mit->second) + ", called as " + stream_kind_name(f.kind));
  }
  if (admission_) {
    Status admitted = admission_(from, f.method, f.metadata);
    if (!admitted.ok()) return reject(from, f.call_id, admitted.code(), admitted.message());
  }
  if (calls_.size() >= config_.calls_max || events_.size() >= config_.event_queue_max) {
    return reject(from, f.call_id, Code::kResourceExhausted, "server busy");
  }
  touch_window(from, f.call_id);  // admitted: server_by_wire_ marks it active until it ends
  CallHandle h = next_handle_++;
  Call& c = calls_.try_emplace(h).first->second;
  c.is_client = false;
  c.peer = from;
  c.wire_id = f.call_id;
  c.kind = f.kind;
  c.options.content_type = f.content_type;
  c.deadline_at_ms = f.deadline_ms == 0 ? kNoDeadline : now_ms + static_cast<std::int64_t>(f.deadline_ms);
  if (server_sends_stream(f.kind)) c.out.limit = f.window;
  if (client_sends_stream(f.kind)) {
    c.in.granted_limit = config_.window;
    push_frame(from, control_frame(FrameType::kCredit, f.call_id, Dir::kFromServer, c.in.granted_limit));
  }
  Event e = make_event(EventKind::kRequest, h, from, f.kind);
  e.service = std::move(f.service);
  e.method = std::move(f.method);
  e.metadata = std::move(f.metadata);
  e.payload = std::move(f.payload);
  e.content_type = f.content_type;
  e.deadline_at_ms = c.deadline_at_ms;
  server_by_wire_.emplace(f.call_id, h);
  push_event(std::move(e));
}

Status Engine::respond(CallHandle call, const Status& status, Bytes payload, const Metadata& trailer,
                       const Value& details, std::int64_t) {
  NITRO_TRY(check_call(call));
  Call& c = calls_.at(call);
  if (c.is_client) return failed_precondition("respond() is for server calls");
  if (status.message().size() > config_.limits.message_bytes_max) return invalid_argument("error message too long");
  if (payload.size() > config_.limits.frame_bytes_max / 2) return invalid_argument("response payload too large");
  Frame f = control_frame(FrameType::kResponse, c.wire_id, Dir::kFromServer);
  f.code = status.code();
  f.message = status.message();
  f.details = details;
  f.metadata = trailer;
  f.seq = c.out.next_seq;
  f.payload = std::move(payload);
  take_header(c, f);
  Bytes bytes = encode_frame(f);
  bool cache = c.kind == StreamKind::kUnary || c.kind == StreamKind::kClientStream;
  remember_done(c.peer, c.wire_id, cache ? &bytes : nullptr);
  transmits_.push_back(Transmit{c.peer, std::move(bytes)});
  end_server_call(call, {}, false);
  return {};
}

Status Engine::set_header(CallHandle call, Metadata header) {
  NITRO_TRY(check_call(call));
  Call& c = calls_.at(call);
  if (c.is_client) return failed_precondition("set_header() is for server calls");
  if (c.header_done) return failed_precondition("the response headers have been sent");
  if (header.size() > config_.limits.metadata_entries_max) return invalid_argument("too many header entries");
  for (const auto& [k, v] : header) {
    if (k.size() > config_.limits.name_bytes_max || v.size() > config_.limits.metadata_value_bytes_max) {
      return invalid_argument("header entry too long");
    }
  }
  c.header = std::move(header);
  return {};
}

// The server's first frame of a call carries its response headers.
void Engine::take_header(Call& c, Frame& f) {
  if (c.is_client || c.header_done) return;
  c.header_done = true;
  f.header = std::move(c.header);
}

void Engine::end_server_call(CallHandle handle, Status status, bool notify) {
  auto it = calls_.find(handle);
  assert(it != calls_.end() && !it->second.is_client);
  if (notify) {
    Event e = make_event(EventKind::kCancelled, handle, it->second.peer, it->second.kind);
    e.status = std::move(status);
    push_event(std::move(e));
  }
  auto [first, last] = server_by_wire_.equal_range(it->second.wire_id);
  auto entry = std::find_if(first, last, [handle](const auto& kv) { return kv.second == handle; });
  NITRO_ASSERT(entry != last);
  server_by_wire_.erase(entry);
  calls_.erase(it);
}

void Engine::on_cancel(const PeerKey& from, const Frame& f) {
  CallHandle h = 0;
  Call* c = server_call_for(from, f.call_id, &h);
  // A cancel that overtakes its request leaves a tombstone, so the late request does not run.
  if (!c) {
    const Bytes* cached = nullptr;
    if (classify(from, f.call_id, &cached) == Seen::kNew) remember_done(from, f.call_id, nullptr);
    return;
  }
  remember_done(from, f.call_id, nullptr);
  Status why = f.code == Code::kDeadlineExceeded ? deadline_exceeded("deadline exceeded")
                                                 : Status(Code::kCancelled, "cancelled by the caller");
  end_server_call(h, std::move(why), true);
}

Engine::Call* Engine::server_call_for(const PeerKey& from, std::uint64_t wire_id, CallHandle* handle) {
  auto it = find_server_call(from, wire_id);
  if (it == server_by_wire_.end()) return nullptr;
  *handle = it->second;
  return &calls_.at(it->second);
}

std::multimap<std::uint64_t, CallHandle>::iterator Engine::find_server_call(const PeerKey& from, std::uint64_t wire_id) {
  auto [first, last] = server_by_wire_.equal_range(wire_id);
  for (auto it = first; it != last; ++it) {
    if (calls_.at(it->second).peer == from) return it;
  }
  return server_by_wire_.end();
}

}  // namespace nitro::rpc
