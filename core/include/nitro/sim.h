// The deterministic network simulator: N nitro::Node instances in one process on a virtual clock.
//
// Contract: ONE 64-bit seed derives the whole run — node identities and entropy, per-link latency,
// every drop/duplicate/reorder decision — so a run replays exactly from (SimConfig, calls made).
// The simulator is the Nodes' host: it follows the transport contract in nitro/node.h
// (kDial -> connect(initiator) on both ends, kHangup -> disconnect at the far end, one frame per
// handle()). Time never advances by polling: run_until() jumps from one scheduled event (frame
// arrival, connection set-up, node deadline) to the next.
//
// Faults: per-link base latency drawn in [delay_min_ms, delay_max_ms] plus per-frame jitter;
// drop, duplicate and reorder (extra delay) probabilities per frame; partitions (symmetric, or
// asymmetric: only frames from side A to side B are lost) and heal; per-node clock skew and drift.
//
// Crashes are the product's: each node has a store fed ONLY from poll_store(), drained before
// poll_transmit() exactly as the JS host does. A drained batch becomes durable storage_sync_ms
// later, and the frames drained after it leave only then (write-ahead). crash() loses the node's
// memory and every batch not yet durable (with torn_write_rate, a seeded prefix of the oldest one
// survives, as a store without atomic batches would leave it); its connections die and peers see
// a reset with probability reset_on_crash, otherwise silence. restart() goes through
// Node::restore(config, records) with what the store holds, or starts a new node if it holds
// nothing. There is no other path from a crashed node to its successor.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <deque>
#include <optional>
#include <queue>
#include <string>
#include <vector>

#include "nitro/node.h"

namespace nitro::gossip {
class Rng;
}  // namespace nitro::gossip

namespace nitro::sim {

struct SimConfig {
  std::uint64_t seed = 1;
  std::size_t nodes = 16;
  NodeConfig node;                 // template for every node (identity, entropy, address filled in)
  std::uint64_t delay_min_ms = 5;  // per-link base latency range
  std::uint64_t delay_max_ms = 60;
  std::uint64_t jitter_ms = 10;    // per-frame uniform extra
  double drop_rate = 0.0;
  double duplicate_rate = 0.0;
  double reorder_rate = 0.0;       // frames given an extra 0..4x base latency
  double reset_on_crash = 0.5;     // peers of a crashed node see a disconnect (vs. silence)
  std::uint64_t start_spread_ms = 2000;  // nodes start at seeded times within this window
  std::size_t contacts = 3;        // each node bootstraps from up to this many earlier nodes
  std::uint64_t storage_sync_ms = 2;     // a drained store batch is durable this much later
  double torn_write_rate = 0.0;          // crash: chance a prefix of the unsynced batch survives
  // Busy nodes: a node takes frame_cost_us of (virtual) processing time for every frame, connect
  // and disconnect it handles, and timer_cost_us for every tick; input arriving while it is busy
  // waits, in arrival order, until it is free. slow_nodes seeded nodes are slow_factor times
  // slower (the slow-node fault). Zero costs: nodes process instantly, as before.
  std::uint64_t frame_cost_us = 0;
  std::uint64_t timer_cost_us = 0;
  std::size_t slow_nodes = 0;
  std::uint64_t slow_factor = 10;
  bool one_process = false;  // all nodes share one processor (N nodes in one JS process)
  // Clocks: node i reads skew_i + t * (1 + drift_i) at virtual time t, with skew_i drawn in
  // [0, clock_skew_max_ms] and drift_i in [-clock_drift_max_ppm, +clock_drift_max_ppm].
  std::uint64_t clock_skew_max_ms = 0;
  std::uint64_t clock_drift_max_ppm = 0;

  // Swarm testing: derive fault rates and latencies from the seed (bounded so that the
  // liveness targets remain meaningful): drop <= 5%, duplicate <= 5%, reorder <= 10%,
  // storage sync <= 20 ms, torn writes <= 50%.
  static SimConfig swarm(std::uint64_t seed, std::size_t nodes);
  // Adds seeded clock faults: skew <= 10 s, drift <= 1000 ppm (0.1%). Only for suites that give
  // nodes their times through the simulator (Simulator::local_ms(i), never now_ms()).
  SimConfig& with_clock_faults();
};

struct Delivery {
  std::size_t node = 0;
  PeerId origin;
  std::string topic;
  std::uint64_t seq = 0;
  std::uint32_t hops = 0;
  std::uint64_t at_ms = 0;
};

struct NetStats {
  std::uint64_t frames_sent = 0, frames_dropped = 0, frames_duplicated = 0, frames_delivered = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t events_processed = 0;
  std::uint64_t store_batches = 0, store_batches_lost = 0, store_batches_torn = 0;
  std::uint64_t busy_waits = 0;        // inputs that waited for a busy node
  std::uint64_t busy_wait_max_us = 0;  // longest such wait
};

class Simulator {
 public:
  explicit Simulator(const SimConfig& config);
  ~Simulator();

  std::uint64_t now_ms() const { return now_ms_; }
  std::size_t size() const { return slots_.size(); }
  const SimConfig& config() const { return config_; }
  Address address(std::size_t i) const { return "n" + std::to_string(i); }
  bool alive(std::size_t i) const { return slots_[i].node != nullptr; }
  Node* node(std::size_t i) { return slots_[i].node.get(); }
  std::size_t index_of(const PeerId& peer) const;  // size() if unknown
  std::uint64_t local_ms(std::size_t i) const;      // node i's clock (skew and drift) now
  const StoredRecords& stored(std::size_t i) const { return slots_[i].store; }  // durable records

  // Advance virtual time, processing every event scheduled up to and including t_ms.
  void run_until(std::uint64_t t_ms);
  void run_for(std::uint64_t duration_ms) { run_until(now_ms_ + duration_ms); }

  // Faults.
  void set_drop_rate(double p) { config_.drop_rate = p; }
  void partition(const std::vector<std::size_t>& side_a, bool symmetric);
  void heal();
  void crash(std::size_t i);
  void restart(std::size_t i);

  // Application calls on node i (pumps its output).
  Status subscribe(std::size_t i, const std::string& topic);
  Result<std::uint64_t> publish(std::size_t i, const std::string& topic, const Bytes& payload);

  // Runs `fn` on live node i, then pumps its output (for calls the simulator does not wrap).
  void with_node(std::size_t i, const std::function<void(Node&)>& fn);

  // Observations.
  const std::vector<Delivery>& deliveries() const { return deliveries_; }
  void clear_deliveries() { deliveries_.clear(); }
  const NetStats& net() const { return net_; }
  NodeStats total_stats() const;  // live nodes plus the final stats of crashed incarnations
  // Active views of live nodes are symmetric, non-empty, and connect every live node.
  bool membership_converged() const;
  std::string describe() const;  // seed and fault mix, for failure messages

 private:
  struct Slot {
    std::unique_ptr<Node> node;
    NodeConfig config;
    StoredRecords store;                        // durable: what a host's store holds
    std::deque<std::vector<StoreOp>> unsynced;  // drained batches not yet durable, oldest first
    std::uint64_t sync_until_ms = 0;            // frames drained now leave no earlier than this
    std::uint64_t skew_ms = 0;
    std::int64_t drift_ppm = 0;
    std::uint64_t incarnation = 0;
    std::uint64_t timer_ms = UINT64_MAX;  // deadline currently scheduled
    std::uint64_t timer_gen = 0;
    std::uint64_t last_tick_ms = UINT64_MAX;
    std::uint64_t ticks_at_same_ms = 0;  // a node whose deadline never moves is a bug: asserted
    int group = 0;
    NodeStats dead_stats;
    std::uint64_t busy_until_us = 0;  // the busy-node model: the node processes until then
    std::uint64_t cost_factor = 1;    // slow_factor for a slow node
  };
  enum class Kind : std::uint8_t { kStart, kTimer, kConnect, kDisconnect, kFrame, kSync };
  struct Ev {
    std::uint64_t at_ms;
    std::uint64_t order;
    Kind kind;
    std::size_t to;
    std::size_t from;
    std::uint64_t gen;       // timer generation, incarnation (start, sync, disconnect) or connection id (connect, frame)
    std::uint64_t from_inc;
    bool initiator;
    std::shared_ptr<Bytes> bytes;
    bool reserved = false;   // busy-node model: its processing time is already booked
    bool operator>(const Ev& o) const { return at_ms != o.at_ms ? at_ms > o.at_ms : order > o.order; }
  };
  struct Conn {
    std::uint64_t inc_a = 0, inc_b = 0;  // incarnations of (min, max) at creation
    std::uint64_t id = 0;                // a disconnect notice names the connection it ends
  };

  void schedule(Ev ev);
  void process(const Ev& ev);
  bool wait_if_busy(const Ev& ev, std::uint64_t cost_us);
  std::uint64_t& busy_until_us(std::size_t i) { return config_.one_process ? busy_until_us_ : slots_[i].busy_until_us; }
  void pump(std::size_t i);
  void reschedule_timer(std::size_t i);
  void dial(std::size_t from, std::size_t to);
  void hangup(std::size_t from, std::size_t to);
  bool conn_alive(std::size_t a, std::size_t b) const;
  std::uint64_t conn_id(std::size_t a, std::size_t b) const;  // 0 if none
  bool blocked(std::size_t from, std::size_t to) const;
  std::uint64_t link_delay_ms(std::size_t from, std::size_t to);
  std::optional<std::size_t> parse(const Address& address) const;
  void start_node(std::size_t i);
  void drain_store(std::size_t i);
  void apply(Slot& s, const std::vector<StoreOp>& batch, std::size_t count);
  std::uint64_t local_at(std::size_t i, std::uint64_t t) const;
  std::uint64_t global_at(std::size_t i, std::uint64_t local) const;  // first t with local_at >= local

  SimConfig config_;
  std::uint64_t now_ms_ = 0;
  std::uint64_t order_ = 0;
  std::uint64_t conn_ids_ = 0;
  std::unique_ptr<gossip::Rng> rng_;
  std::vector<Slot> slots_;
  std::map<std::pair<std::size_t, std::size_t>, Conn> conns_;
  std::map<PeerId, std::size_t> by_peer_;
  std::priority_queue<Ev, std::vector<Ev>, std::greater<Ev>> queue_;
  std::vector<Delivery> deliveries_;
  NetStats net_;
  bool partitioned_ = false;
  bool partition_symmetric_ = true;
  std::uint64_t busy_until_us_ = 0;  // one_process: the shared processor
};

}  // namespace nitro::sim
