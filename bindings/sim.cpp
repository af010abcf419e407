// Embind glue for nitro::sim::Simulator: the deterministic network, driven from JS for the web
// demo's live simulated network. Conversion only: node indices and times as JS numbers, bytes as
// Uint8Array, errors as values (bytes.h error_to_js).
#include <cmath>
#include <memory>

#include "bytes.h"
#include "node_stats.h"
#include "nitro/node.h"
#include "nitro/sim.h"

namespace nitro::bind {
namespace {

struct SimBox {
  std::unique_ptr<sim::Simulator> sim;
  std::size_t delivered_seen = 0;
};

// Emscripten 3.1.6's val has no isObject().
bool is_object(const val& v) { return !v.isNull() && v.typeOf().as<std::string>() == "object"; }

std::uint64_t ms(double d) { return std::isfinite(d) && d > 0 ? static_cast<std::uint64_t>(d) : 0; }

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

val status_to_js(const Status& s) { return s.ok() ? val::undefined() : error_to_js(s); }


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

EMSCRIPTEN_BINDINGS(nitro_sim) {
  using namespace emscripten;
  using namespace nitro::bind;
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

