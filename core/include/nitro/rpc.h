// RPC between peers: request/response and streaming calls, service discovery and client-side
// load balancing. Go Micro's model (services, methods, metadata, selectors), made p2p.
//
// Contract (sans-IO, after quinn-proto): the engine is a deterministic state machine. It opens no
// socket, reads no clock, starts no thread and owns no global RNG: time is the `now_ms` argument
// of every call, entropy is the seed given at construction. Input is pushed (`handle` for a frame
// from a peer, the call API for the local host), output is pulled: after every push or `tick`,
// drain `poll_transmit` (peer-addressed frames) and `poll_event` (calls to run, messages,
// results) until empty, then call `tick` again no later than `next_deadline`. Extra ticks are
// harmless.
//
// Guarantees:
// - A result or stream message is delivered to a call only when it carries that call's wire id
//   and comes from the peer the attempt was sent to: a response never reaches the wrong call,
//   under loss, duplication or reordering.
// - A server executes each (peer, call id) at most once: duplicates of a request (link-level
//   duplicates or this engine's retransmissions) are absorbed by a bounded per-peer window
//   (anti-replay style: ids below the window are refused). Only idempotent calls are retried, and
//   a retry is a new call on another instance.
// - Deadlines are enforced on `tick`: the client ends the call with DEADLINE_EXCEEDED and sends
//   CANCEL; the server, which got the remaining time with the request, cancels the handler.
// - Streams have credit-based flow control per direction: a sender may send message `seq` only
//   if `seq < limit` granted by the receiver, so every receive buffer is bounded by its window.
//   Stream messages are sequenced: duplicates are dropped and reordering is repaired within the
//   window. Stream messages are not retransmitted: a stream over a link that loses frames ends
//   by its deadline (the transports Nitro uses for streams are reliable).
// - Every queue and table has a bound in `EngineConfig`; a decoder is total and bounded.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nitro/status.h"
#include "nitro/value.h"

namespace nitro::rpc {

using PeerKey = std::string;                       // opaque peer identity (PeerId bytes or a name)
using Metadata = std::map<std::string, std::string>;
using CallHandle = std::uint64_t;                  // local handle of a call, client or server side
inline constexpr std::int64_t kNoDeadline = std::numeric_limits<std::int64_t>::max();
inline constexpr std::uint8_t kWireVersion = 1;

// ---------------------------------------------------------------------------------------------
// Frames. Wire form: a msgpack array [version, type, call_id, ...fields of the type]. Fields
// appended by a later minor version are ignored by this decoder.
//   REQUEST     [1, 1, id, service, method, metadata, deadline_ms, content, flags, kind, window, payload]
//   RESPONSE    [1, 2, id, code, message, details, trailer, count, payload, (header)]
//   STREAM_MSG  [1, 3, id, dir, seq, payload, (header)]
//   STREAM_END  [1, 4, id, dir, count]
//   CREDIT      [1, 5, id, dir, limit]
//   CANCEL      [1, 6, id, (reason)]   reason: absent = CANCELLED, 4 = DEADLINE_EXCEEDED
// `deadline_ms` is relative (time remaining when sent, 0 = none), so peers need no shared clock.
// `header` (response headers, a metadata map) rides on the server's first frame of a call: stream
// message 0, or the response when no message came first; it is left out when empty.
// `count` is the number of stream messages sent before the end, so the end is delivered after
// them even when frames are reordered. `dir` says which side sent the frame.
enum class FrameType : std::uint8_t { kRequest = 1, kResponse = 2, kStreamMsg = 3, kStreamEnd = 4, kCredit = 5, kCancel = 6 };
enum class StreamKind : std::uint8_t { kUnary = 0, kServerStream = 1, kClientStream = 2, kBidi = 3 };
// The payload encoding, for the application only: the engine never decodes payloads. kProtobuf
// payloads are protobuf binary messages (the schema is the application's).
enum class ContentType : std::uint8_t { kMsgpack = 0, kJson = 1, kProtobuf = 2 };
inline constexpr std::uint8_t kContentTypeMax = 2;
enum class Dir : std::uint8_t { kFromClient = 0, kFromServer = 1 };
inline constexpr std::uint32_t kFlagIdempotent = 1;

struct FrameLimits {
  std::size_t frame_bytes_max = 4u << 20;
  std::size_t name_bytes_max = 256;             // service and method names
  std::size_t metadata_entries_max = 64;
  std::size_t metadata_value_bytes_max = 8192;  // keys are names (name_bytes_max)
  std::size_t message_bytes_max = 4096;         // error message text
  std::uint32_t window_max = 1024;              // stream window a peer may ask for
};

struct Frame {
  FrameType type = FrameType::kRequest;
  std::uint64_t call_id = 0;
  Dir dir = Dir::kFromClient;
  // REQUEST
  std::string service;
  std::string method;
  Metadata metadata;                    // REQUEST: request metadata; RESPONSE: trailing metadata
  std::uint64_t deadline_ms = 0;        // relative; 0 = none
  ContentType content_type = ContentType::kMsgpack;
  std::uint32_t flags = 0;
  StreamKind kind = StreamKind::kUnary;
  std::uint32_t window = 0;             // REQUEST: the client's receive window (messages)
  // RESPONSE
  Code code = Code::kOk;
  std::string message;
  Value details;
  // STREAM_MSG: seq; STREAM_END/RESPONSE: count of stream messages sent; CREDIT: limit.
  std::uint64_t seq = 0;
  Bytes payload;
  Metadata header;                      // RESPONSE, STREAM_MSG: response headers (server's first frame)
};

void encode_frame(const Frame& frame, Bytes& out);
Bytes encode_frame(const Frame& frame);
// Total: malformed, oversized or unknown frames give kDecodeError.
Result<Frame> decode_frame(std::span<const std::uint8_t> bytes, const FrameLimits& limits = {});

// ---------------------------------------------------------------------------------------------
// Discovery: a registry of service instances fed by advertisements with a TTL (carried by the
// gossip layer) and by a static peer list. Iteration is ordered by peer key: deterministic.
struct Instance {
  PeerKey peer;
  Metadata metadata;
  std::int64_t expires_at_ms = kNoDeadline;  // kNoDeadline for static entries
};

struct Advertisement {
  PeerKey peer;
  struct Service {
    std::string name;
    Metadata metadata;
  };
  std::vector<Service> services;
  std::uint64_t ttl_ms = 0;
};
Bytes encode_advertisement(const Advertisement& ad);
Result<Advertisement> decode_advertisement(std::span<const std::uint8_t> bytes, const FrameLimits& limits = {});

class Registry {
 public:
  static constexpr std::size_t kServicesMax = 4096;
  static constexpr std::size_t kInstancesPerServiceMax = 1024;

  // Upserts `peer` as an instance of `service` until now_ms + ttl_ms (ttl_ms 0 = static).
  Status upsert(const std::string& service, const PeerKey& peer, const Metadata& metadata,
                std::uint64_t ttl_ms, std::int64_t now_ms);
  // Applies every service of an advertisement (the ad's peer is the instance).
  Status apply(const Advertisement& ad, std::int64_t now_ms);
  void remove(const std::string& service, const PeerKey& peer);
  void remove_peer(const PeerKey& peer);
  // Unexpired instances of `service`, ordered by peer.
  std::vector<Instance> instances(const std::string& service, std::int64_t now_ms) const;
  // The peers of instances(), into `out` (cleared first): no copies, for a pick on every call.
  // The pointers are valid until the registry changes.
  void live_peers(const std::string& service, std::int64_t now_ms, std::vector<const PeerKey*>& out) const;
  std::size_t count(const std::string& service, std::int64_t now_ms) const;  // live instances, no copies
  std::vector<std::string> services(std::int64_t now_ms) const;
  void expire(std::int64_t now_ms);  // drops expired entries (bounded work: the table size)

 private:
  template <typename F>
  void for_live(const std::string& service, std::int64_t now_ms, F&& f) const {  // in peer order
    auto it = table_.find(service);
    if (it == table_.end()) return;
    for (const auto& [peer, inst] : it->second) {
      if (inst.expires_at_ms > now_ms) f(peer, inst);
    }
  }

  std::map<std::string, std::map<PeerKey, Instance>> table_;
};

// ---------------------------------------------------------------------------------------------
// Load balancing: selectors and outlier detection.
enum class Strategy : std::uint8_t { kRandom = 0, kRoundRobin = 1, kConsistentHash = 2 };

struct OutlierConfig {
  std::uint32_t consecutive_failures = 5;   // failures in a row that eject an instance
  std::int64_t base_ejection_ms = 30000;    // ejection time = base * 2^(ejections-1), capped
  std::int64_t max_ejection_ms = 300000;
  std::size_t tracked_peers_max = 4096;
};

// Codes that count as an instance failure for outlier detection and allow an idempotent retry.
bool is_instance_failure(Code code);

class Balancer {
 public:
  static constexpr std::uint32_t kVirtualNodes = 64;  // ring points per instance

  explicit Balancer(std::uint64_t seed, OutlierConfig outlier = {});

  // Picks one of `candidates` (ordered by peer), skipping `exclude` and ejected peers. When every
  // candidate is ejected it picks among the non-excluded ones anyway (panic mode, after Envoy).
  // kUnavailable when nothing is left.
  Result<PeerKey> pick(const std::string& service, const std::vector<Instance>& candidates,
                       Strategy strategy, std::string_view hash_key, const std::set<PeerKey>& exclude,
                       std::int64_t now_ms);
  // The same pick over candidate peers (ordered), answering one of them.
  Result<const PeerKey*> pick(const std::string& service, const std::vector<const PeerKey*>& candidates,
                              Strategy strategy, std::string_view hash_key, const std::set<PeerKey>& exclude,
                              std::int64_t now_ms);
  void report(const PeerKey& peer, bool success, std::int64_t now_ms);
  bool ejected(const PeerKey& peer, std::int64_t now_ms) const;

  // Consistent hashing alone (pure): the owner of `key` on a ring of `peers` with virtual nodes.
  static PeerKey ring_owner(const std::vector<PeerKey>& peers, std::string_view key);

 private:
  struct Health {
    std::uint32_t consecutive_failures = 0;
    std::uint32_t ejections = 0;
    std::int64_t ejected_until_ms = 0;
  };
  std::uint64_t next_random();

  std::uint64_t rng_state_;
  OutlierConfig outlier_;
  std::map<std::string, std::uint64_t> rr_next_;  // round-robin cursor per service
  std::map<PeerKey, Health> health_;
  std::vector<const PeerKey*> open_, healthy_;    // scratch of pick(), kept for their capacity
};

// ---------------------------------------------------------------------------------------------
// The engine.
struct EngineConfig {
  std::uint32_t window = 16;                  // receive window per stream direction (messages)
  std::int64_t retransmit_ms = 0;             // resend an unanswered REQUEST after this; 0 = off
  std::uint32_t retransmits_max = 8;
  // A call whose link drops before it heard anything waits this long (within its deadline) for the
  // link to come back and is then re-sent to the same peer (the server's dedupe window keeps it
  // at most once) instead of failing UNAVAILABLE at once; 0 = fail at once.
  std::int64_t reconnect_grace_ms = 0;
  std::size_t calls_max = 4096;               // active client + server calls
  std::size_t transmit_queue_max = 1u << 16;  // frames waiting for poll_transmit
  std::size_t event_queue_max = 1u << 16;     // events waiting for poll_event
  std::uint32_t dedupe_window = 1024;         // call ids remembered per (peer, client session)
  std::size_t dedupe_peers_max = 4096;
  std::size_t sessions_per_peer_max = 4;
  std::size_t dedupe_cache_bytes_max = 8u << 20;  // cached responses replayed to duplicates
  FrameLimits limits;
  OutlierConfig outlier;
};

struct CallOptions {
  PeerKey peer;              // call this peer directly; empty: pick an instance of `service`
  std::string service;       // the serving node's service name (registry key)
  std::string method;        // e.g. "Greeter.Hello"
  Metadata metadata;
  Bytes payload;             // unary and server-stream request body (opaque, `content_type`)
  ContentType content_type = ContentType::kMsgpack;
  StreamKind kind = StreamKind::kUnary;
  std::int64_t timeout_ms = 30000;      // overall deadline; must be > 0
  std::int64_t attempt_timeout_ms = 0;  // per attempt (idempotent retries); 0 = none
  bool idempotent = false;
  std::uint32_t retries = 0;            // further attempts on other instances (idempotent only)
  Strategy strategy = Strategy::kRoundRobin;
  std::string hash_key;                 // for kConsistentHash
};

enum class EventKind : std::uint8_t {
  kRequest = 0,    // server: a call to run (service, method, metadata, payload, deadline)
  kMessage = 1,    // a stream message from the other side (acknowledge with `consumed`)
  kHalfClose = 2,  // server: the client ended its stream
  kDone = 3,       // client: the call's final status (+ payload for unary/client-stream, trailer)
  kCancelled = 4,  // server: the call was cancelled (client cancel, deadline, peer down)
  kWritable = 5,   // credit arrived: `send` may proceed
};

struct Event {
  EventKind kind = EventKind::kDone;
  CallHandle handle = 0;
  PeerKey peer;
  std::string service;
  std::string method;
  Metadata metadata;        // kRequest: request metadata; kDone: trailing metadata
  // Client kMessage/kDone: the response headers, on the first of these events of a call only.
  Metadata header;
  Bytes payload;
  ContentType content_type = ContentType::kMsgpack;
  StreamKind stream_kind = StreamKind::kUnary;
  std::int64_t deadline_at_ms = kNoDeadline;  // kRequest: local absolute deadline
  Status status;            // kDone, kCancelled
  Value details;            // kDone: error details
  std::uint32_t attempts = 0;  // kDone: attempts made
};

struct Transmit {
  PeerKey peer;
  Bytes bytes;
};

// OK, or INVALID_ARGUMENT naming the first bad field ("window", "calls_max", ...).
Status validate(const EngineConfig& config);

class Engine {
 public:
  // The constructor asserts a valid config; create() checks it and reports the bad field.
  Engine(PeerKey self, std::uint64_t seed, EngineConfig config = {});
  static Result<std::unique_ptr<Engine>> create(PeerKey self, std::uint64_t seed, EngineConfig config = {});

  // --- sans-IO driving ---
  // A frame from `from`. kDecodeError for malformed bytes (state unchanged); frames for unknown
  // calls or from the wrong peer are dropped silently (they are normal under loss and retries).
  Status handle(const PeerKey& from, std::span<const std::uint8_t> bytes, std::int64_t now_ms);
  void tick(std::int64_t now_ms);
  std::optional<Transmit> poll_transmit();
  std::optional<Event> poll_event();
  std::optional<std::int64_t> next_deadline() const;
  // The link to `peer` is gone: its client calls fail UNAVAILABLE (idempotent ones retry
  // elsewhere), its server calls are cancelled.
  void peer_down(const PeerKey& peer, std::int64_t now_ms);
  // A link to `peer` is up: calls parked by peer_down() (reconnect_grace_ms) are re-sent now.
  void peer_up(const PeerKey& peer, std::int64_t now_ms);
  // The host could not send to `peer` at all (no route): calls whose request was queued in this
  // very step and never left pick another instance — safe even when not idempotent, the request
  // was never delivered — and the rest is peer_down().
  void peer_unreachable(const PeerKey& peer, std::int64_t now_ms);

  // --- server side ---
  void serve(const std::string& service);  // a service name this node answers to
  Status register_method(const std::string& method, StreamKind kind);
  void unregister_method(const std::string& method);
  // Final answer of a server call: OK with payload (unary/client-stream), OK without payload
  // (end of a server stream), or an error with message and details.
  Status respond(CallHandle call, const Status& status, Bytes payload, const Metadata& trailer,
                 const Value& details, std::int64_t now_ms);
  // Response headers of a server call, sent with its first stream message or its response;
  // FAILED_PRECONDITION once either has left.
  Status set_header(CallHandle call, Metadata header);

  // --- client side ---
  Result<CallHandle> start_call(CallOptions options, std::int64_t now_ms);
  // For hosts that queue call starts and submit them in batches: reserve handles up front
  // ([first, first + n)), then start a call on one. A failure to start is returned and also
  // delivered as that handle's kDone event, like any other outcome of the call.
  CallHandle reserve_handles(std::uint32_t n);
  Status start_reserved_call(CallHandle handle, CallOptions options, std::int64_t now_ms);
  Status cancel(CallHandle call, std::int64_t now_ms);
  // Ends a reserved handle that was never started (a host held its start back) with `status`,
  // delivered as its kDone event like any other outcome.
  Status fail_reserved(CallHandle handle, const CallOptions& options, Status status);
  Status end_stream(CallHandle call, std::int64_t now_ms);  // client half-close

  // --- both sides, streams ---
  // kResourceExhausted when the peer granted no credit: wait for kWritable.
  Status send(CallHandle call, Bytes payload, std::int64_t now_ms);
  std::uint64_t send_credit(CallHandle call) const;
  // The host consumed `n` delivered stream messages of `call`: grants the sender more credit.
  Status consumed(CallHandle call, std::uint32_t n, std::int64_t now_ms);

  Registry& registry() { return registry_; }
  Balancer& balancer() { return balancer_; }
  const PeerKey& self() const { return self_; }
  const FrameLimits& limits() const { return config_.limits; }
  std::size_t active_calls() const { return calls_.size(); }
  bool has_transmits() const { return !transmits_.empty(); }
  bool has_events() const { return !events_.empty(); }
  // Access control: asked for every new incoming call (peer, method); a non-OK answer rejects the
  // call with that status (PERMISSION_DENIED naming the rule) before the handler sees it.
  using Admission = std::function<Status(const PeerKey& from, const std::string& method, const Metadata& metadata)>;
  void set_admission(Admission admission) { admission_ = std::move(admission); }

  // --- durable dedupe: at-most-once across a restart ---
  // With tracking on, every change of a (peer, client session) high-water mark (the highest call
  // sequence admitted or tombstoned) is kept until take_dedupe_marks(); `high` empty means the
  // session was evicted. A host persists them BEFORE it runs the handlers of the same step and
  // hands them back to a restarted engine with restore_dedupe_mark(): a request of that session
  // at or below the mark may have run before the restart, so it is refused (ABORTED), never run.
  struct DedupeMark {
    PeerKey peer;
    std::uint64_t session = 0;
    std::optional<std::uint64_t> high;
  };
  void track_dedupe(bool on) { track_dedupe_ = on; }
  std::vector<DedupeMark> take_dedupe_marks();
  void restore_dedupe_mark(const PeerKey& peer, std::uint64_t session, std::uint64_t high);

 private:
  struct StreamIn {       // a receiving stream direction
    std::uint64_t next_seq = 0;            // next to deliver
    std::uint64_t granted_limit = 0;       // sender may send seq < granted_limit
    std::uint64_t consumed = 0;
    std::map<std::uint64_t, Bytes> early;  // out of order, seq < granted_limit: bounded by window
    std::optional<std::uint64_t> end_count;  // the sender's end arrived with this count
    bool end_delivered = false;
  };
  struct StreamOut {      // a sending stream direction
    std::uint64_t next_seq = 0;
    std::uint64_t limit = 0;
    bool ended = false;
  };
  struct Call {
    bool is_client = true;
    PeerKey peer;                 // the peer of the current attempt / the calling peer
    std::uint64_t wire_id = 0;
    StreamKind kind = StreamKind::kUnary;
    std::int64_t deadline_at_ms = kNoDeadline;
    StreamIn in;
    StreamOut out;
    // client only
    CallOptions options;          // kept for retries (payload included)
    std::uint32_t attempts = 0;
    std::set<PeerKey> tried;
    std::int64_t attempt_deadline_at_ms = kNoDeadline;
    std::int64_t attempt_started_ms = 0;
    std::int64_t retransmit_at_ms = kNoDeadline;
    std::uint32_t retransmits = 0;
    bool heard = false;           // any frame from the server for this attempt
    std::int64_t parked_until_ms = kNoDeadline;  // link down, waiting for it (reconnect_grace_ms)
    std::optional<Frame> final_response;  // waiting for the stream messages it counts
    // Response headers: the server's to send, the client's received; `header_done` once sent
    // (server) or reported in an event (client).
    Metadata header;
    bool header_done = false;
  };
  struct SessionWindow {
    std::uint64_t high = 0;                          // highest sequence seen
    std::map<std::uint64_t, std::optional<Bytes>> done;  // seq -> cached response frame
    std::uint64_t last_used = 0;                     // LRU stamp (dedupe_clock_)
    std::uint64_t restored_high = 0;                 // seqs up to this may have run before a restart
    bool dirty = false;                              // in dedupe_dirty_ (its mark not yet taken)
  };
  struct PeerDedupe {
    std::map<std::uint64_t, SessionWindow> sessions;  // by session (high bits of call ids)
    std::uint64_t last_used = 0;
  };
  struct Entropy {
    std::uint64_t state;
    std::uint64_t next();
  };

  // frames in
  void on_request(const PeerKey& from, Frame&& f, std::int64_t now_ms);
  void on_response(const PeerKey& from, Frame&& f, std::int64_t now_ms);
  void take_header(Call& c, Frame& f);
  // Client: the headers of a frame from the server, kept until an event reports them.
  static void keep_header(Call& c, Metadata&& header);
  void on_stream_msg(const PeerKey& from, Frame&& f, std::int64_t now_ms);
  void on_stream_end(const PeerKey& from, const Frame& f, std::int64_t now_ms);
  void on_credit(const PeerKey& from, const Frame& f);
  void on_cancel(const PeerKey& from, const Frame& f);
  Call* client_call_for(const PeerKey& from, std::uint64_t wire_id, CallHandle* handle);
  Call* server_call_for(const PeerKey& from, std::uint64_t wire_id, CallHandle* handle);
  std::multimap<std::uint64_t, CallHandle>::iterator find_server_call(const PeerKey& from, std::uint64_t wire_id);
  // dedupe
  enum class Seen { kNew, kActive, kDone, kStale, kMaybeRan };
  Seen classify(const PeerKey& from, std::uint64_t wire_id, const Bytes** cached);
  SessionWindow& touch_window(const PeerKey& from, std::uint64_t wire_id);
  void remember_done(const PeerKey& from, std::uint64_t wire_id, const Bytes* response);
  void trim_dedupe(const PeerKey& touched_peer, PeerDedupe& touched);
  // client internals
  Status check_options(const CallOptions& options) const;
  Status begin_call(CallHandle handle, CallOptions& options, std::int64_t now_ms);
  Status start_attempt(CallHandle handle, Call& call, std::int64_t now_ms);
  void send_request(Call& call, std::int64_t now_ms);
  void finish_client(CallHandle handle, Call& call, Status status, Bytes payload, Metadata trailer,
                     Value details, std::int64_t now_ms);
  bool park(Call& call, std::int64_t now_ms);
  bool maybe_retry(CallHandle handle, Call& call, Code code, std::int64_t now_ms);
  void complete_response(CallHandle handle, Call& call, std::int64_t now_ms);
  // server internals
  void reject(const PeerKey& to, std::uint64_t wire_id, Code code, std::string message);
  void end_server_call(CallHandle handle, Status status, bool notify);
  // streams
  void deliver_in(CallHandle handle, Call& call, std::uint64_t seq, Bytes payload);
  void check_end(CallHandle handle, Call& call, std::int64_t now_ms);
  void push_frame(const PeerKey& to, const Frame& frame);
  void push_event(Event event);
  Status check_call(CallHandle call) const;

  PeerKey self_;
  EngineConfig config_;
  Entropy entropy_;
  std::uint64_t session_;        // high bits of this engine's wire call ids
  std::uint64_t next_seq_ = 1;   // low bits: per-session call counter
  CallHandle next_handle_ = 1;
  std::map<CallHandle, Call> calls_;
  std::map<std::uint64_t, CallHandle> client_by_wire_;                  // current attempts
  // Server calls by wire id, checked against the calling peer (ids of different clients may
  // collide): no key holds a copy of the peer's text.
  std::multimap<std::uint64_t, CallHandle> server_by_wire_;
  std::map<PeerKey, PeerDedupe> dedupe_;
  std::size_t dedupe_cache_bytes_ = 0;
  std::uint64_t dedupe_clock_ = 0;
  bool track_dedupe_ = false;
  std::set<std::pair<PeerKey, std::uint64_t>> dedupe_dirty_;  // (peer, session) marks not yet taken
  std::set<std::string> services_;
  std::map<std::string, StreamKind> methods_;
  Admission admission_;
  std::deque<Transmit> transmits_;
  std::deque<Event> events_;
  Registry registry_;
  Balancer balancer_;
  std::vector<const PeerKey*> candidates_;  // scratch of start_attempt(), kept for its capacity
};

// Stable names, e.g. for JS: "unary", "server", "client", "bidi".
const char* stream_kind_name(StreamKind kind);

}  // namespace nitro::rpc
