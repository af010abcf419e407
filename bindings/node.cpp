// Embind glue for nitro::Node (the sans-IO peer) and nitro::sim::Simulator (the deterministic
// network, for the web demo's live simulated network). Conversion only: bytes as Uint8Array, peer
// ids as base32 text, times and sequence numbers as JS numbers (exact up to 2^53), errors as
// values (bytes.h error_to_js). See the JS-facing summary at the end of this file.
#include <cmath>
#include <cstring>
#include <memory>

#include "bytes.h"
#include "nitro/node.h"
#include "nitro/sim.h"

namespace nitro::bind {
namespace {

struct NodeBox {
  std::unique_ptr<Node> node;
};
struct SimBox {
  std::unique_ptr<sim::Simulator> sim;
  std::size_t delivered_seen = 0;
};

// Emscripten 3.1.6's val has no isObject().
bool is_object(const val& v) { return !v.isNull() && v.typeOf().as<std::string>() == "object"; }

std::uint64_t ms(double d) { return std::isfinite(d) && d > 0 ? static_cast<std::uint64_t>(d) : 0; }

bool seed_into(const val& v, crypto::Seed& out) {
  if (v.isUndefined() || v.isNull()) return true;  // keep the zero default
  Bytes b = bytes_from_js(v);
  if (b.size() != out.size()) return false;
  std::memcpy(out.data(), b.data(), out.size());
  return true;
}

template <typename T>
void number_into(const val& obj, const char* key, T& out) {
  val v = obj[key];
  if (v.isNumber()) out = static_cast<T>(v.as<double>());
}

BroadcastMode mode_from(const val& v) {
  if (!v.isString()) return BroadcastMode::kPlumtree;
  const std::string s = v.as<std::string>();
  return s == "flood" ? BroadcastMode::kFlood : s == "mesh" ? BroadcastMode::kMesh : BroadcastMode::kPlumtree;
}

void timers_into(const val& t, NodeTimers& timers) {
  if (!is_object(t)) return;
  number_into(t, "probeIntervalMs", timers.probe_interval_ms);
  number_into(t, "probeTimeoutMs", timers.probe_timeout_ms);
  number_into(t, "suspicionTimeoutMs", timers.suspicion_timeout_ms);
  number_into(t, "shuffleIntervalMs", timers.shuffle_interval_ms);
  number_into(t, "repairIntervalMs", timers.repair_interval_ms);
  number_into(t, "reconnectIntervalMs", timers.reconnect_interval_ms);
  number_into(t, "handshakeTimeoutMs", timers.handshake_timeout_ms);
  number_into(t, "linkIdleMs", timers.link_idle_ms);
  number_into(t, "ihaveTimeoutMs", timers.ihave_timeout_ms);
  number_into(t, "reorderWaitMs", timers.reorder_wait_ms);
}

Result<NodeConfig> config_from(const val& o) {
  NodeConfig c;
  if (!is_object(o)) return c;
  if (!seed_into(o["identitySeed"], c.identity_seed)) return Status(invalid_argument("identitySeed must be 32 bytes"));
  if (!seed_into(o["entropy"], c.entropy)) return Status(invalid_argument("entropy must be 32 bytes"));
  if (o["listenAddress"].isString()) c.listen_address = o["listenAddress"].as<std::string>();
  val boot = o["bootstrap"];
  if (boot.isArray()) {
    const auto n = boot["length"].as<std::size_t>();
    for (std::size_t i = 0; i < n && i < 64; ++i) {
      if (boot[i].isString()) c.bootstrap.push_back(boot[i].as<std::string>());
    }
  }
  c.mode = mode_from(o["mode"]);
  number_into(o, "activeViewMax", c.active_view_max);
  number_into(o, "passiveViewMax", c.passive_view_max);
  if (c.active_view_max == 0) return Status(invalid_argument("activeViewMax must be >= 1"));
  timers_into(o["timers"], c.timers);
  return c;
}

const char* event_name(EventType t) {
  switch (t) {
    case EventType::kMessage: return "message";
    case EventType::kPeerUp: return "peer-up";
    case EventType::kPeerDown: return "peer-down";
    case EventType::kNeighborUp: return "neighbor-up";
    case EventType::kNeighborDown: return "neighbor-down";
    case EventType::kDirect: return "direct";
    case EventType::kDial: return "dial";
    case EventType::kHangup: return "hangup";
    case EventType::kProtocol: return "protocol";
  }
  return "unknown";
}

val event_to_js(const Event& e) {
  val o = val::object();
  o.set("type", std::string(event_name(e.type)));
  if (e.peer != PeerId()) o.set("peer", e.peer.to_string());
  if (!e.address.empty()) o.set("address", e.address);
  if (e.type == EventType::kMessage || e.type == EventType::kDirect || e.type == EventType::kProtocol) {
    o.set("topic", e.topic);
    o.set("payload", bytes_to_js(e.payload));
  }
  if (e.type == EventType::kMessage) {
    o.set("origin", e.origin.to_string());
    o.set("seq", static_cast<double>(e.seq));
    o.set("hops", e.hops);
  }
  return o;
}

val status_to_js(const Status& s) { return s.ok() ? val::null() : error_to_js(s); }

// ---- NodeCore ----

val node_create(const val& options) {
  auto c = config_from(options);
  if (!c.ok()) return error_to_js(c.status());
  return val(NodeBox{std::make_unique<Node>(*c)});
}

val node_restore(const val& options, const val& state) {
  auto c = config_from(options);
  if (!c.ok()) return error_to_js(c.status());
  auto n = Node::restore(*c, bytes_from_js(state));
  if (!n.ok()) return error_to_js(n.status());
  return val(NodeBox{std::move(*n)});
}

std::string node_id(NodeBox& b) { return b.node->id().to_string(); }
void node_start(NodeBox& b, double now) { b.node->start(ms(now)); }
void node_join(NodeBox& b, const std::string& contact, double now) { b.node->join(contact, ms(now)); }
void node_connect(NodeBox& b, const std::string& a, bool initiator, double now) { b.node->connect(a, initiator, ms(now)); }
void node_disconnect(NodeBox& b, const std::string& a, double now) { b.node->disconnect(a, ms(now)); }
val node_handle(NodeBox& b, const std::string& a, const val& bytes, double now) {
  return status_to_js(b.node->handle(a, bytes_from_js(bytes), ms(now)));
}
void node_tick(NodeBox& b, double now) { b.node->tick(ms(now)); }

val node_poll_transmit(NodeBox& b) {
  auto t = b.node->poll_transmit();
  if (!t) return val::null();
  val o = val::object();
  o.set("address", t->address);
  o.set("bytes", bytes_to_js(t->bytes));
  return o;
}

// Everything queued, in order: one boundary crossing per pump instead of one per frame.
val node_poll_transmits(NodeBox& b) {
  val out = val::array();
  std::size_t i = 0;
  while (auto t = b.node->poll_transmit()) {
    val o = val::object();
    o.set("address", t->address);
    o.set("bytes", bytes_to_js(t->bytes));
    out.set(i++, o);
  }
  return out;
}

val node_poll_event(NodeBox& b) {
  auto e = b.node->poll_event();
  return e ? event_to_js(*e) : val::null();
}

val node_poll_events(NodeBox& b) {
  val out = val::array();
  std::size_t i = 0;
  while (auto e = b.node->poll_event()) out.set(i++, event_to_js(*e));
  return out;
}

val node_next_deadline(NodeBox& b) {
  auto d = b.node->next_deadline();
  return d ? val(static_cast<double>(*d)) : val::null();
}

val node_subscribe(NodeBox& b, const std::string& topic) { return status_to_js(b.node->subscribe(topic)); }
val node_unsubscribe(NodeBox& b, const std::string& topic) { return status_to_js(b.node->unsubscribe(topic)); }
val node_publish(NodeBox& b, const std::string& topic, const val& payload, double now) {
  auto r = b.node->publish(topic, bytes_from_js(payload), ms(now));
  return r.ok() ? val(static_cast<double>(*r)) : error_to_js(r.status());
}
val node_send(NodeBox& b, const std::string& peer, const std::string& channel, const val& bytes, double now) {
  auto id = PeerId::parse(peer);
  if (!id.ok()) return error_to_js(id.status());
  return status_to_js(b.node->send(*id, channel, bytes_from_js(bytes), ms(now)));
}

val node_peers(NodeBox& b) {
  val out = val::array();
  std::size_t i = 0;
  for (const auto& p : b.node->peers()) {
    val o = val::object();
    o.set("peer", p.peer.to_string());
    o.set("address", p.address);
    o.set("listenAddress", p.listen_address);
    o.set("neighbor", p.neighbor);
    out.set(i++, o);
  }
  return out;
}

val ids_to_js(const std::vector<PeerId>& ids) {
  val out = val::array();
  for (std::size_t i = 0; i < ids.size(); ++i) out.set(i, ids[i].to_string());
  return out;
}
val node_neighbors(NodeBox& b) { return ids_to_js(b.node->neighbors()); }
val node_passive_view(NodeBox& b) { return ids_to_js(b.node->passive_view()); }
val node_save_state(NodeBox& b) { return bytes_to_js(b.node->save_state()); }

val stats_to_js(const NodeStats& s) {
  val o = val::object();
  auto put = [&o](const char* k, std::uint64_t v) { o.set(k, static_cast<double>(v)); };
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
  return o;
}
val node_stats(NodeBox& b) { return stats_to_js(b.node->stats()); }

// ---- SimCore ----

val sim_create(const val& o) {
  sim::SimConfig c;
  double seed = 1, nodes = 16;
  if (is_object(o)) {
    number_into(o, "seed", seed);
    number_into(o, "nodes", nodes);
  }
  if (nodes < 1 || nodes > 5000) return error_to_js(invalid_argument("nodes must be 1..5000"));
  if (is_object(o) && o["swarm"].isTrue()) c = sim::SimConfig::swarm(ms(seed), static_cast<std::size_t>(nodes));
  c.seed = ms(seed);
  c.nodes = static_cast<std::size_t>(nodes);
  if (is_object(o)) {
    number_into(o, "delayMinMs", c.delay_min_ms);
    number_into(o, "delayMaxMs", c.delay_max_ms);
    number_into(o, "jitterMs", c.jitter_ms);
    number_into(o, "dropRate", c.drop_rate);
    number_into(o, "duplicateRate", c.duplicate_rate);
    number_into(o, "reorderRate", c.reorder_rate);
    number_into(o, "startSpreadMs", c.start_spread_ms);
    c.node.mode = mode_from(o["mode"]);
    number_into(o, "activeViewMax", c.node.active_view_max);
  }
  if (c.delay_max_ms < c.delay_min_ms || c.node.active_view_max == 0) return error_to_js(invalid_argument("bad sim options"));
  return val(SimBox{std::make_unique<sim::Simulator>(c), 0});
}

void sim_run_until(SimBox& b, double t) { b.sim->run_until(ms(t)); }
void sim_run_for(SimBox& b, double d) { b.sim->run_for(ms(d)); }
double sim_now(SimBox& b) { return static_cast<double>(b.sim->now_ms()); }
double sim_size(SimBox& b) { return static_cast<double>(b.sim->size()); }
bool valid(SimBox& b, double i) { return i >= 0 && i < static_cast<double>(b.sim->size()); }
bool sim_alive(SimBox& b, double i) { return valid(b, i) && b.sim->alive(static_cast<std::size_t>(i)); }
void sim_crash(SimBox& b, double i) { if (valid(b, i)) b.sim->crash(static_cast<std::size_t>(i)); }
void sim_restart(SimBox& b, double i) { if (valid(b, i)) b.sim->restart(static_cast<std::size_t>(i)); }
void sim_heal(SimBox& b) { b.sim->heal(); }
void sim_set_drop_rate(SimBox& b, double p) { b.sim->set_drop_rate(p); }
void sim_partition(SimBox& b, const val& side_a, bool symmetric) {
  std::vector<std::size_t> side;
  const auto n = side_a["length"].as<std::size_t>();
  for (std::size_t k = 0; k < n; ++k) {
    const double i = side_a[k].as<double>();
    if (valid(b, i)) side.push_back(static_cast<std::size_t>(i));
  }
  b.sim->partition(side, symmetric);
}
val sim_subscribe(SimBox& b, double i, const std::string& topic) {
  if (!valid(b, i)) return error_to_js(invalid_argument("no such node"));
  return status_to_js(b.sim->subscribe(static_cast<std::size_t>(i), topic));
}
val sim_publish(SimBox& b, double i, const std::string& topic, const val& payload) {
  if (!valid(b, i)) return error_to_js(invalid_argument("no such node"));
  auto r = b.sim->publish(static_cast<std::size_t>(i), topic, bytes_from_js(payload));
  return r.ok() ? val(static_cast<double>(*r)) : error_to_js(r.status());
}
std::string sim_node_id(SimBox& b, double i) {
  return valid(b, i) && b.sim->alive(static_cast<std::size_t>(i)) ? b.sim->node(static_cast<std::size_t>(i))->id().to_string() : "";
}
// Active-view neighbors of node i as node indices (for drawing the overlay).
val sim_neighbors(SimBox& b, double i) {
  val out = val::array();
  if (!sim_alive(b, i)) return out;
  std::size_t k = 0;
  for (const auto& p : b.sim->node(static_cast<std::size_t>(i))->neighbors()) {
    const std::size_t j = b.sim->index_of(p);
    if (j < b.sim->size()) out.set(k++, static_cast<double>(j));
  }
  return out;
}
// Deliveries since the previous call: [{node, origin, topic, seq, hops, atMs}].
val sim_take_deliveries(SimBox& b) {
  val out = val::array();
  const auto& all = b.sim->deliveries();
  std::size_t k = 0;
  for (std::size_t i = b.delivered_seen; i < all.size(); ++i) {
    val o = val::object();
    o.set("node", static_cast<double>(all[i].node));
    o.set("origin", all[i].origin.to_string());
    o.set("topic", all[i].topic);
    o.set("seq", static_cast<double>(all[i].seq));
    o.set("hops", all[i].hops);
    o.set("atMs", static_cast<double>(all[i].at_ms));
    out.set(k++, o);
  }
  b.sim->clear_deliveries();
  b.delivered_seen = 0;
  return out;
}
bool sim_converged(SimBox& b) { return b.sim->membership_converged(); }
val sim_stats(SimBox& b) {
  val o = stats_to_js(b.sim->total_stats());
  o.set("netFramesSent", static_cast<double>(b.sim->net().frames_sent));
  o.set("netFramesDropped", static_cast<double>(b.sim->net().frames_dropped));
  o.set("netBytesSent", static_cast<double>(b.sim->net().bytes_sent));
  return o;
}
std::string sim_describe(SimBox& b) { return b.sim->describe(); }

}  // namespace
}  // namespace nitro::bind

EMSCRIPTEN_BINDINGS(nitro_node) {
  using namespace emscripten;
  using namespace nitro::bind;
  class_<NodeBox>("NodeCore")
      .function("id", &node_id)
      .function("start", &node_start)
      .function("join", &node_join)
      .function("connect", &node_connect)
      .function("disconnect", &node_disconnect)
      .function("handle", &node_handle)
      .function("tick", &node_tick)
      .function("pollTransmit", &node_poll_transmit)
      .function("pollTransmits", &node_poll_transmits)
      .function("pollEvent", &node_poll_event)
      .function("pollEvents", &node_poll_events)
      .function("nextDeadline", &node_next_deadline)
      .function("subscribe", &node_subscribe)
      .function("unsubscribe", &node_unsubscribe)
      .function("publish", &node_publish)
      .function("send", &node_send)
      .function("peers", &node_peers)
      .function("neighbors", &node_neighbors)
      .function("passiveView", &node_passive_view)
      .function("stats", &node_stats)
      .function("saveState", &node_save_state);
  function("nodeCreate", &node_create);
  function("nodeRestore", &node_restore);

  class_<SimBox>("SimCore")
      .function("runUntil", &sim_run_until)
      .function("runFor", &sim_run_for)
      .function("nowMs", &sim_now)
      .function("size", &sim_size)
      .function("alive", &sim_alive)
      .function("crash", &sim_crash)
      .function("restart", &sim_restart)
      .function("partition", &sim_partition)
      .function("heal", &sim_heal)
      .function("setDropRate", &sim_set_drop_rate)
      .function("subscribe", &sim_subscribe)
      .function("publish", &sim_publish)
      .function("nodeId", &sim_node_id)
      .function("neighbors", &sim_neighbors)
      .function("takeDeliveries", &sim_take_deliveries)
      .function("converged", &sim_converged)
      .function("stats", &sim_stats)
      .function("describe", &sim_describe);
  function("simCreate", &sim_create);
}
