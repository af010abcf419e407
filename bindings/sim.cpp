// Embind glue for nitro::sim::Simulator: the deterministic network, driven from JS for the web
// demo's live simulated network. Conversion only: node indices and times as JS numbers, bytes as
// Uint8Array, errors as values (convert.h error_to_js).
#include <memory>
#include <optional>

#include "convert.h"
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

// A node index from JS: a safe integer below the simulation's size, else nullopt.
std::optional<std::size_t> index_of(const SimBox& b, double i) {
  auto n = safe_u64(i);
  if (!n || *n >= b.sim->size()) return std::nullopt;
  return static_cast<std::size_t>(*n);
}

BroadcastMode mode_from(const val& v) {
  if (!v.isString()) return BroadcastMode::kPlumtree;
  const std::string s = v.as<std::string>();
  return s == "flood" ? BroadcastMode::kFlood : s == "mesh" ? BroadcastMode::kMesh : BroadcastMode::kPlumtree;
}

val status_to_js(const Status& s) { return s.ok() ? val::undefined() : error_to_js(s); }


Status options_from_js(const val& o, sim::SimConfig& c) {
  std::uint64_t seed = 1;
  std::size_t nodes = 16;
  NITRO_TRY(read_u64_field(o, "seed", seed));
  NITRO_TRY(read_u64_field(o, "nodes", nodes));
  if (nodes < 1 || nodes > 5000) return invalid_argument("nodes must be 1..5000");
  if (o["swarm"].isTrue()) c = sim::SimConfig::swarm(seed, nodes);
  c.seed = seed;
  c.nodes = nodes;
  NITRO_TRY(read_u64_field(o, "delayMinMs", c.delay_min_ms));
  NITRO_TRY(read_u64_field(o, "delayMaxMs", c.delay_max_ms));
  NITRO_TRY(read_u64_field(o, "jitterMs", c.jitter_ms));
  NITRO_TRY(read_fraction_field(o, "dropRate", c.drop_rate));
  NITRO_TRY(read_fraction_field(o, "duplicateRate", c.duplicate_rate));
  NITRO_TRY(read_fraction_field(o, "reorderRate", c.reorder_rate));
  NITRO_TRY(read_u64_field(o, "startSpreadMs", c.start_spread_ms));
  c.node.mode = mode_from(o["mode"]);
  NITRO_TRY(read_u64_field(o, "activeViewMax", c.node.active_view_max));
  if (c.delay_max_ms < c.delay_min_ms) return invalid_argument("delayMaxMs must be >= delayMinMs");
  if (c.node.active_view_max == 0) return invalid_argument("activeViewMax must be positive");
  return Status::ok_status();
}

val sim_create(const val& o) {
  sim::SimConfig c;
  const Status s = options_from_js(is_object(o) ? o : val::object(), c);
  if (!s.ok()) return error_to_js(s);
  return val(SimBox{std::make_unique<sim::Simulator>(c), 0});
}

void sim_run_until(SimBox& b, double t) { b.sim->run_until(host_now_ms(t)); }
void sim_run_for(SimBox& b, double d) { b.sim->run_for(host_now_ms(d)); }
double sim_now(SimBox& b) { return static_cast<double>(b.sim->now_ms()); }
double sim_size(SimBox& b) { return static_cast<double>(b.sim->size()); }
bool sim_alive(SimBox& b, double i) {
  auto k = index_of(b, i);
  return k && b.sim->alive(*k);
}
void sim_crash(SimBox& b, double i) {
  if (auto k = index_of(b, i)) b.sim->crash(*k);
}
void sim_restart(SimBox& b, double i) {
  if (auto k = index_of(b, i)) b.sim->restart(*k);
}
void sim_heal(SimBox& b) { b.sim->heal(); }
val sim_set_drop_rate(SimBox& b, double p) {
  if (!(p >= 0 && p <= 1)) return error_to_js(invalid_argument("drop rate must be a number in 0..1"));
  b.sim->set_drop_rate(p);
  return val::undefined();
}
void sim_partition(SimBox& b, const val& side_a, bool symmetric) {
  std::vector<std::size_t> side;
  const auto n = side_a["length"].as<std::size_t>();
  for (std::size_t k = 0; k < n; ++k) {
    const val x = side_a[k];
    if (auto i = x.isNumber() ? index_of(b, x.as<double>()) : std::nullopt) side.push_back(*i);
  }
  b.sim->partition(side, symmetric);
}
val sim_subscribe(SimBox& b, double i, const std::string& topic) {
  auto k = index_of(b, i);
  if (!k) return error_to_js(invalid_argument("no such node"));
  return status_to_js(b.sim->subscribe(*k, topic));
}
val sim_publish(SimBox& b, double i, const std::string& topic, const val& payload) {
  auto k = index_of(b, i);
  if (!k) return error_to_js(invalid_argument("no such node"));
  auto r = b.sim->publish(*k, topic, bytes_from_js(payload));
  return r.ok() ? val(static_cast<double>(*r)) : error_to_js(r.status());
}
std::string sim_node_id(SimBox& b, double i) {
  auto k = index_of(b, i);
  return k && b.sim->alive(*k) ? b.sim->node(*k)->id().to_string() : "";
}
// Active-view neighbors of node i as node indices (for drawing the overlay).
val sim_neighbors(SimBox& b, double i) {
  val out = val::array();
  auto self = index_of(b, i);
  if (!self || !b.sim->alive(*self)) return out;
  std::size_t k = 0;
  for (const auto& p : b.sim->node(*self)->neighbors()) {
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

