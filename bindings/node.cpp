// Embind glue for nitro::Node (class "NodeCore"). Conversion only: bytes as Uint8Array, peer ids as
// their base32 text, times as JS numbers of milliseconds, errors as values (convert.h error_to_js).
// The per-frame boundary is kept cheap: `drain()` returns every pending transmit and event and the
// next deadline in one call. The JS-facing API is typed in js/src/host/core.ts (`NodeCore`).
#include "convert.h"
#include "node_stats.h"
#include "node_core.h"

namespace nitro::bind {
namespace {

Status timers_from_js(const val& v, NodeTimers& t) {
  if (v.isUndefined() || v.isNull()) return Status::ok_status();
  NITRO_TRY(read_u64_field(v, "probeIntervalMs", t.probe_interval_ms));
  NITRO_TRY(read_u64_field(v, "probeTimeoutMs", t.probe_timeout_ms));
  NITRO_TRY(read_u64_field(v, "suspicionTimeoutMs", t.suspicion_timeout_ms));
  NITRO_TRY(read_u64_field(v, "shuffleIntervalMs", t.shuffle_interval_ms));
  NITRO_TRY(read_u64_field(v, "repairIntervalMs", t.repair_interval_ms));
  NITRO_TRY(read_u64_field(v, "reconnectIntervalMs", t.reconnect_interval_ms));
  NITRO_TRY(read_u64_field(v, "neighborTimeoutMs", t.neighbor_timeout_ms));
  NITRO_TRY(read_u64_field(v, "handshakeTimeoutMs", t.handshake_timeout_ms));
  NITRO_TRY(read_u64_field(v, "linkRekeyMs", t.link_rekey_ms));
  NITRO_TRY(read_u64_field(v, "linkIdleMs", t.link_idle_ms));
  NITRO_TRY(read_u64_field(v, "ihaveTimeoutMs", t.ihave_timeout_ms));
  NITRO_TRY(read_u64_field(v, "graftRetryMs", t.graft_retry_ms));
  NITRO_TRY(read_u64_field(v, "lazyFlushMs", t.lazy_flush_ms));
  NITRO_TRY(read_u64_field(v, "reorderWaitMs", t.reorder_wait_ms));
  NITRO_TRY(read_u64_field(v, "meshHeartbeatMs", t.mesh_heartbeat_ms));
  NITRO_TRY(read_u64_field(v, "messageTtlMs", t.message_ttl_ms));
  return Status::ok_status();
}

Status limits_from_js(const val& v, NodeLimits& l) {
  if (v.isUndefined() || v.isNull()) return Status::ok_status();
  NITRO_TRY(read_u64_field(v, "frameBytesMax", l.frame_bytes_max));
  NITRO_TRY(read_u64_field(v, "payloadBytesMax", l.payload_bytes_max));
  NITRO_TRY(read_u64_field(v, "topicBytesMax", l.topic_bytes_max));
  NITRO_TRY(read_u64_field(v, "transmitQueueMax", l.transmit_queue_max));
  NITRO_TRY(read_u64_field(v, "transmitQueueHighWater", l.transmit_queue_high_water));
  NITRO_TRY(read_u64_field(v, "eventQueueMax", l.event_queue_max));
  NITRO_TRY(read_u64_field(v, "linksMax", l.links_max));
  NITRO_TRY(read_u64_field(v, "pendingFramesPerLinkMax", l.pending_frames_per_link_max));
  NITRO_TRY(read_u64_field(v, "messageCacheMax", l.message_cache_max));
  NITRO_TRY(read_u64_field(v, "seenStreamsMax", l.seen_streams_max));
  NITRO_TRY(read_u64_field(v, "holdBackPerStreamMax", l.hold_back_per_stream_max));
  NITRO_TRY(read_u64_field(v, "lazyQueuePerPeerMax", l.lazy_queue_per_peer_max));
  NITRO_TRY(read_u64_field(v, "topicsMax", l.topics_max));
  return Status::ok_status();
}

Status mode_from_js(const val& v, BroadcastMode& mode) {
  if (v.isUndefined() || v.isNull()) return Status::ok_status();
  if (!v.isString()) return invalid_argument("mode must be 'plumtree', 'flood' or 'mesh'");
  const std::string m = v.as<std::string>();
  if (m == "plumtree") mode = BroadcastMode::kPlumtree;
  else if (m == "flood") mode = BroadcastMode::kFlood;
  else if (m == "mesh") mode = BroadcastMode::kMesh;
  else return invalid_argument("mode must be 'plumtree', 'flood' or 'mesh'");
  return Status::ok_status();
}

Status strings_from_js(const val& v, std::vector<Address>& out) {
  if (v.isUndefined() || v.isNull()) return Status::ok_status();
  if (!val::global("Array").call<bool>("isArray", v)) return invalid_argument("bootstrap must be an array of strings");
  const auto n = v["length"].as<std::size_t>();
  for (std::size_t i = 0; i < n; ++i) {
    if (!v[i].isString()) return invalid_argument("bootstrap must be an array of strings");
    out.push_back(v[i].as<std::string>());
  }
  return Status::ok_status();
}

Status config_from_js(const val& v, NodeConfig& c) {
  // Restoring from records, the identity may be left to the records (a zero seed: unspecified).
  const bool optional_identity = !v["records"].isUndefined() && v["identitySeed"].isUndefined();
  if (!optional_identity && !bytes_into(v["identitySeed"], c.identity_seed)) {
    return invalid_argument("identitySeed must be 32 bytes");
  }
  if (!bytes_into(v["entropy"], c.entropy)) return invalid_argument("entropy must be 32 bytes");
  const val listen = v["listenAddress"];
  if (listen.isString()) c.listen_address = listen.as<std::string>();
  NITRO_TRY(strings_from_js(v["bootstrap"], c.bootstrap));
  NITRO_TRY(mode_from_js(v["mode"], c.mode));
  NITRO_TRY(read_u64_field(v, "activeViewMax", c.active_view_max));
  NITRO_TRY(read_u64_field(v, "passiveViewMax", c.passive_view_max));
  NITRO_TRY(read_u64_field(v, "meshDegree", c.mesh_degree));
  NITRO_TRY(read_u64_field(v, "meshGossipPeers", c.mesh_gossip_peers));
  if (v["secureLinks"].isFalse()) c.secure_links = false;
  NITRO_TRY(timers_from_js(v["timers"], c.timers));
  return limits_from_js(v["limits"], c.limits);
}

// records: [[key, bytes]...] as the host's store listed them.
Status records_from_js(const val& v, StoredRecords& out) {
  if (!val::global("Array").call<bool>("isArray", v)) return invalid_argument("records must be an array of [key, bytes]");
  const auto n = v["length"].as<std::size_t>();
  for (std::size_t i = 0; i < n; ++i) {
    const val entry = v[i];
    if (!val::global("Array").call<bool>("isArray", entry) || entry["length"].as<std::size_t>() != 2 ||
        !entry[0].isString()) {
      return invalid_argument("records must be an array of [key, bytes]");
    }
    out[entry[0].as<std::string>()] = bytes_from_js(entry[1]);
  }
  return Status::ok_status();
}

// config: see js/src/host/core.ts `CoreConfig`. With `records` (what the store holds, non-empty)
// the node restarts from them through Node::restore(config, records); with `state` (save_state()
// bytes) from that snapshot — its identity then comes from the state, not from identitySeed.
val node_create(const val& js_config) {
  NodeConfig config;
  Status s = config_from_js(js_config, config);
  if (!s.ok()) return error_to_js(s);
  const val records = js_config["records"];
  if (!records.isUndefined() && !records.isNull()) {
    StoredRecords stored;
    s = records_from_js(records, stored);
    if (!s.ok()) return error_to_js(s);
    if (!stored.empty()) {
      auto node = Node::restore(config, std::move(stored));
      if (!node.ok()) return error_to_js(node.status());
      return val(NodeCore(std::move(*node)));
    }
    if (js_config["identitySeed"].isUndefined()) return error_to_js(invalid_argument("no records: identitySeed needed"));
  }
  const val state = js_config["state"];
  if (state.isUndefined() || state.isNull()) return val(NodeCore(std::make_unique<Node>(config)));
  auto node = Node::restore(config, bytes_from_js(state));
  if (!node.ok()) return error_to_js(node.status());
  return val(NodeCore(std::move(*node)));
}

// nodeRestore(config, state): the same as nodeCreate({ ...config, state }).
val node_restore(const val& js_config, const val& state) {
  NodeConfig config;
  Status s = config_from_js(js_config, config);
  if (!s.ok()) return error_to_js(s);
  auto node = Node::restore(config, bytes_from_js(state));
  if (!node.ok()) return error_to_js(node.status());
  return val(NodeCore(std::move(*node)));
}

val status_to_js(const Status& s) { return s.ok() ? val::undefined() : error_to_js(s); }

val parse_peer(const std::string& text, PeerId& out) {
  auto p = PeerId::parse(text);
  if (!p.ok()) return error_to_js(p.status());
  out = *p;
  return val::undefined();
}

const char* event_type_name(EventType t) {
  switch (t) {
    case EventType::kMessage: return "message";
    case EventType::kPeerUp: return "peer:up";
    case EventType::kPeerDown: return "peer:down";
    case EventType::kNeighborUp: return "neighbor:up";
    case EventType::kNeighborDown: return "neighbor:down";
    case EventType::kDirect: return "direct";
    case EventType::kDial: return "dial";
    case EventType::kHangup: return "hangup";
    case EventType::kProtocol: return "protocol";
  }
  return "unknown";
}

// Only the fields that mean something for the event's type cross the boundary.
val event_to_js(const Event& e) {
  val out = val::object();
  out.set("type", std::string(event_type_name(e.type)));
  switch (e.type) {
    case EventType::kMessage:
      out.set("peer", e.peer.to_string());
      out.set("topic", e.topic);
      out.set("origin", e.origin.to_string());
      out.set("seq", static_cast<double>(e.seq));
      out.set("hops", static_cast<double>(e.hops));
      out.set("payload", bytes_to_js(e.payload));
      out.set("pattern", e.pattern);
      out.set("queue", e.queue);
      break;
    case EventType::kPeerUp:
    case EventType::kPeerDown:
    case EventType::kNeighborUp:
    case EventType::kNeighborDown:
      out.set("peer", e.peer.to_string());
      out.set("address", e.address);
      break;
    case EventType::kDirect:
      out.set("peer", e.peer.to_string());
      out.set("channel", e.topic);
      out.set("payload", bytes_to_js(e.payload));
      break;
    case EventType::kDial:
    case EventType::kHangup: out.set("address", e.address); break;
    case EventType::kProtocol:
      out.set("channel", e.topic);
      out.set("payload", bytes_to_js(e.payload));
      break;
  }
  return out;
}

double deadline_to_js(const Node& node) {
  auto d = node.next_deadline();
  return d ? static_cast<double>(*d) : -1.0;
}

// ---- NodeCore methods ------------------------------------------------------------------------

std::string core_id(const NodeCore& c) { return c.node().id().to_string(); }
std::string core_listen_address(const NodeCore& c) { return c.node().config().listen_address; }
void core_start(NodeCore& c, double now_ms) { c.node().start(host_now_ms(now_ms)); }
void core_join(NodeCore& c, const std::string& contact, double now_ms) { c.node().join(contact, host_now_ms(now_ms)); }
void core_connect(NodeCore& c, const std::string& address, bool initiator, double now_ms) {
  c.node().connect(address, initiator, host_now_ms(now_ms));
}
void core_disconnect(NodeCore& c, const std::string& address, double now_ms) {
  c.node().disconnect(address, host_now_ms(now_ms));
}
val core_handle(NodeCore& c, const std::string& address, const val& bytes, double now_ms) {
  return status_to_js(c.node().handle(address, bytes_from_js(bytes), host_now_ms(now_ms)));
}
void core_tick(NodeCore& c, double now_ms) { c.node().tick(host_now_ms(now_ms)); }

val core_poll_transmit(NodeCore& c) {
  auto t = c.node().poll_transmit();
  if (!t) return val::undefined();
  val out = val::object();
  out.set("address", t->address);
  out.set("bytes", bytes_to_js(t->bytes));
  return out;
}

val core_poll_event(NodeCore& c) {
  auto e = c.node().poll_event();
  return e ? event_to_js(*e) : val::undefined();
}

double core_next_deadline(const NodeCore& c) { return deadline_to_js(c.node()); }

// Everything pending, in one crossing: { transmits: [address, bytes, address, bytes, ...],
// events: [event...], deadline: ms or -1 }. Bounded by the node's queue limits.
val core_drain(NodeCore& c) {
  // Store ops first: the host makes them durable before it sends the transmits drained after them.
  val store = val::array();
  std::size_t k = 0;
  while (auto op = c.node().poll_store()) {
    store.set(k++, op->key);
    store.set(k++, op->value ? bytes_to_js(*op->value) : val::null());
  }
  val transmits = val::array();
  std::size_t i = 0;
  while (auto t = c.node().poll_transmit()) {
    transmits.set(i++, t->address);
    transmits.set(i++, bytes_to_js(t->bytes));
  }
  val events = val::array();
  std::size_t j = 0;
  while (auto e = c.node().poll_event()) events.set(j++, event_to_js(*e));
  val out = val::object();
  out.set("store", store);
  out.set("transmits", transmits);
  out.set("events", events);
  out.set("deadline", deadline_to_js(c.node()));
  return out;
}

// The queues separately, as arrays ([{address, bytes}...] and [event...]).
val core_poll_transmits(NodeCore& c) {
  val out = val::array();
  std::size_t i = 0;
  while (auto t = c.node().poll_transmit()) {
    val o = val::object();
    o.set("address", t->address);
    o.set("bytes", bytes_to_js(t->bytes));
    out.set(i++, o);
  }
  return out;
}

val core_poll_events(NodeCore& c) {
  val out = val::array();
  std::size_t i = 0;
  while (auto e = c.node().poll_event()) out.set(i++, event_to_js(*e));
  return out;
}

val core_subscribe(NodeCore& c, const std::string& pattern, const std::string& queue) {
  return status_to_js(c.node().subscribe(pattern, queue));
}
val core_unsubscribe(NodeCore& c, const std::string& pattern, const std::string& queue) {
  return status_to_js(c.node().unsubscribe(pattern, queue));
}

val core_queue_members(NodeCore& c, const std::string& pattern, const std::string& queue) {
  val out = val::array();
  std::size_t i = 0;
  for (const auto& p : c.node().queue_members(pattern, queue)) out.set(i++, p.to_string());
  return out;
}

val core_publish(NodeCore& c, const std::string& topic, const val& payload, double now_ms) {
  auto seq = c.node().publish(topic, bytes_from_js(payload), host_now_ms(now_ms));
  if (!seq.ok()) return error_to_js(seq.status());
  return val(static_cast<double>(*seq));
}

val core_send(NodeCore& c, const std::string& peer, const std::string& channel, const val& bytes, double now_ms) {
  PeerId id;
  val bad = parse_peer(peer, id);
  if (!bad.isUndefined()) return bad;
  return status_to_js(c.node().send(id, channel, bytes_from_js(bytes), host_now_ms(now_ms)));
}

val core_peers(const NodeCore& c) {
  val out = val::array();
  std::size_t i = 0;
  for (const auto& p : c.node().peers()) {
    val info = val::object();
    info.set("id", p.peer.to_string());
    info.set("address", p.address);
    info.set("listenAddress", p.listen_address);
    info.set("neighbor", p.neighbor);
    out.set(i++, info);
  }
  return out;
}

val ids_to_js(const std::vector<PeerId>& ids) {
  val out = val::array();
  for (std::size_t i = 0; i < ids.size(); ++i) out.set(i, ids[i].to_string());
  return out;
}

val core_neighbors(const NodeCore& c) { return ids_to_js(c.node().neighbors()); }
val core_passive_view(const NodeCore& c) { return ids_to_js(c.node().passive_view()); }
val core_save_state(const NodeCore& c) { return bytes_to_js(c.node().save_state()); }


val core_stats(const NodeCore& c) { return stats_to_js(c.node().stats()); }

}  // namespace
}  // namespace nitro::bind

EMSCRIPTEN_BINDINGS(nitro_node) {
  using namespace emscripten;
  using namespace nitro::bind;
  class_<NodeCore>("NodeCore")
      .function("id", &core_id)
      .function("listenAddress", &core_listen_address)
      .function("start", &core_start)
      .function("join", &core_join)
      .function("connect", &core_connect)
      .function("disconnect", &core_disconnect)
      .function("handle", &core_handle)
      .function("tick", &core_tick)
      .function("pollTransmit", &core_poll_transmit)
      .function("pollEvent", &core_poll_event)
      .function("pollTransmits", &core_poll_transmits)
      .function("pollEvents", &core_poll_events)
      .function("nextDeadline", &core_next_deadline)
      .function("drain", &core_drain)
      .function("subscribe", &core_subscribe)
      .function("unsubscribe", &core_unsubscribe)
      .function("queueMembers", &core_queue_members)
      .function("publish", &core_publish)
      .function("send", &core_send)
      .function("peers", &core_peers)
      .function("neighbors", &core_neighbors)
      .function("passiveView", &core_passive_view)
      .function("stats", &core_stats)
      .function("saveState", &core_save_state);
  function("nodeCreate", &node_create);
  function("nodeRestore", &node_restore);
}
