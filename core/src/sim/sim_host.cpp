// Simulator as the nodes' host: output pumping, connections, faults, application calls and
// whole-network observations.
#include <algorithm>
#include <set>
#include <cstdio>

#include "gossip/rng.h"
#include "nitro/assert.h"
#include "nitro/sim.h"

namespace nitro::sim {

// The host contract: store ops first, made durable before the frames drained after them leave.
void Simulator::drain_store(std::size_t i) {
  Slot& s = slots_[i];
  std::vector<StoreOp> batch;
  while (auto op = s.node->poll_store()) batch.push_back(std::move(*op));
  if (batch.empty()) return;
  net_.store_batches++;
  s.unsynced.push_back(std::move(batch));
  s.sync_until_ms = now_ms_ + config_.storage_sync_ms;
  schedule(Ev{s.sync_until_ms, 0, Kind::kSync, i, i, s.incarnation, 0, false, nullptr});
}

void Simulator::apply(Slot& s, const std::vector<StoreOp>& batch, std::size_t count) {
  for (std::size_t k = 0; k < count; ++k) {
    const StoreOp& op = batch[k];
    if (op.value) {
      s.store[op.key] = *op.value;
    } else {
      s.store.erase(op.key);
    }
  }
}

void Simulator::pump(std::size_t i) {
  Slot& s = slots_[i];
  drain_store(i);
  const std::uint64_t hold_ms = s.sync_until_ms > now_ms_ ? s.sync_until_ms - now_ms_ : 0;
  while (auto t = s.node->poll_transmit()) {
    auto to = parse(t->address);
    net_.frames_sent++;
    net_.bytes_sent += t->bytes.size();
    if (!to || !conn_alive(i, *to)) {
      net_.frames_dropped++;
      continue;
    }
    if (rng_->chance(config_.drop_rate)) {
      net_.frames_dropped++;
      continue;
    }
    auto bytes = std::make_shared<Bytes>(std::move(t->bytes));
    const std::uint64_t conn = conn_id(i, *to);
    schedule(Ev{now_ms_ + hold_ms + link_delay_ms(i, *to), 0, Kind::kFrame, *to, i, conn, s.incarnation, false, bytes});
    if (config_.duplicate_rate > 0 && rng_->chance(config_.duplicate_rate)) {
      net_.frames_duplicated++;
      schedule(Ev{now_ms_ + hold_ms + link_delay_ms(i, *to), 0, Kind::kFrame, *to, i, conn, s.incarnation, false, bytes});
    }
  }
  while (auto e = s.node->poll_event()) {
    switch (e->type) {
      case EventType::kDial: {
        auto to = parse(e->address);
        if (to) dial(i, *to);  // an unknown address never answers: the handshake times out
        break;
      }
      case EventType::kHangup: {
        auto to = parse(e->address);
        if (to) hangup(i, *to);
        break;
      }
      case EventType::kMessage:
        deliveries_.push_back(Delivery{i, e->origin, e->topic, e->seq, e->hops, now_ms_});
        break;
      default: break;
    }
  }
  reschedule_timer(i);
}

void Simulator::dial(std::size_t from, std::size_t to) {
  const std::uint64_t d = link_delay_ms(from, to);
  if (from == to || !alive(to) || blocked(from, to) || blocked(to, from)) {
    // Connection refused or timed out: the dialer learns after a round trip.
    schedule(Ev{now_ms_ + 2 * d, 0, Kind::kDisconnect, from, to, slots_[from].incarnation, conn_id(from, to), false,
                nullptr});
    return;
  }
  if (conn_alive(from, to)) return;  // the other side dialed first; its connect() is on the way
  const std::size_t lo = std::min(from, to), hi = std::max(from, to);
  const std::uint64_t conn = ++conn_ids_;
  conns_[{lo, hi}] = Conn{slots_[lo].incarnation, slots_[hi].incarnation, conn};
  schedule(Ev{now_ms_ + d, 0, Kind::kConnect, to, from, conn, 0, false, nullptr});
  schedule(Ev{now_ms_ + d, 0, Kind::kConnect, from, to, conn, 0, true, nullptr});
}

void Simulator::hangup(std::size_t from, std::size_t to) {
  if (!conn_alive(from, to)) return;
  conns_.erase({std::min(from, to), std::max(from, to)});
  // The far end learns after one link delay, unless a newer connection replaced this one by then.
  schedule(Ev{now_ms_ + link_delay_ms(from, to), 0, Kind::kDisconnect, to, from, slots_[to].incarnation, 0, false,
              nullptr});
}

void Simulator::partition(const std::vector<std::size_t>& side_a, bool symmetric) {
  for (auto& s : slots_) s.group = 0;
  for (auto i : side_a) slots_[i].group = 1;
  partitioned_ = true;
  partition_symmetric_ = symmetric;
}

void Simulator::heal() { partitioned_ = false; }

void Simulator::crash(std::size_t i) {
  Slot& s = slots_[i];
  if (!s.node) return;
  // The process dies: batches not yet durable are lost, or (torn) a prefix of the oldest survives.
  if (!s.unsynced.empty()) {
    net_.store_batches_lost += s.unsynced.size();
    if (config_.torn_write_rate > 0 && rng_->chance(config_.torn_write_rate)) {
      net_.store_batches_torn++;
      apply(s, s.unsynced.front(), rng_->below(s.unsynced.front().size()));
    }
    s.unsynced.clear();
  }
  s.sync_until_ms = 0;
  s.busy_until_us = 0;
  const NodeStats& st = s.node->stats();
  s.dead_stats.published += st.published;
  s.dead_stats.delivered += st.delivered;
  s.dead_stats.payloads_received += st.payloads_received;
  s.dead_stats.duplicate_payloads += st.duplicate_payloads;
  s.dead_stats.strikes += st.strikes;
  s.dead_stats.peers_refused += st.peers_refused;
  s.node.reset();
  for (auto it = conns_.begin(); it != conns_.end();) {
    if (it->first.first != i && it->first.second != i) {
      ++it;
      continue;
    }
    const std::size_t other = it->first.first == i ? it->first.second : it->first.first;
    if (alive(other) && rng_->chance(config_.reset_on_crash)) {
      schedule(Ev{now_ms_ + link_delay_ms(i, other), 0, Kind::kDisconnect, other, i, slots_[other].incarnation, 0,
                  false, nullptr});  // conn id 0: applies only while no new connection exists
    }
    it = conns_.erase(it);
  }
  s.incarnation++;
  s.timer_ms = UINT64_MAX;
  s.timer_gen++;
}

void Simulator::restart(std::size_t i) {
  Slot& s = slots_[i];
  if (s.node) return;
  // A restarted process draws fresh entropy; its identity and sequence numbers come from its store.
  s.config.entropy[0] ^= static_cast<std::uint8_t>(s.incarnation);
  s.config.entropy[1] ^= static_cast<std::uint8_t>(s.incarnation >> 8);
  if (s.store.empty()) {
    s.node = std::make_unique<Node>(s.config);
  } else {
    auto restored = Node::restore(s.config, s.store);
    NITRO_ASSERT(restored.ok());  // the store holds only what the node wrote: it must restore
    s.node = std::move(*restored);
  }
  start_node(i);
}

Status Simulator::subscribe(std::size_t i, const std::string& topic) {
  if (!alive(i)) return unavailable("node is down");
  Status st = slots_[i].node->subscribe(topic);
  pump(i);
  return st;
}

Result<std::uint64_t> Simulator::publish(std::size_t i, const std::string& topic, const Bytes& payload) {
  if (!alive(i)) return Status(unavailable("node is down"));
  auto r = slots_[i].node->publish(topic, payload, local_ms(i));
  pump(i);
  return r;
}

void Simulator::with_node(std::size_t i, const std::function<void(Node&)>& fn) {
  if (!alive(i)) return;
  fn(*slots_[i].node);
  pump(i);
}

NodeStats Simulator::total_stats() const {
  NodeStats t;
  for (const auto& s : slots_) {
    const NodeStats& d = s.dead_stats;
    t.published += d.published;
    t.delivered += d.delivered;
    t.payloads_received += d.payloads_received;
    t.duplicate_payloads += d.duplicate_payloads;
    t.strikes += d.strikes;
    t.peers_refused += d.peers_refused;
    if (!s.node) continue;
    const NodeStats& st = s.node->stats();
    t.published += st.published;
    t.delivered += st.delivered;
    t.payloads_received += st.payloads_received;
    t.duplicate_payloads += st.duplicate_payloads;
    t.ihave_sent += st.ihave_sent;
    t.grafts_sent += st.grafts_sent;
    t.prunes_sent += st.prunes_sent;
    t.ordering_gaps_skipped += st.ordering_gaps_skipped;
    t.suspicions += st.suspicions;
    t.deaths += st.deaths;
    t.neighbors_up += st.neighbors_up;
    t.neighbors_down += st.neighbors_down;
    t.decode_errors += st.decode_errors;
    t.auth_failures += st.auth_failures;
    t.handshakes_ok += st.handshakes_ok;
    t.handshakes_failed += st.handshakes_failed;
    t.rekeys += st.rekeys;
    t.strikes += st.strikes;
    t.peers_refused += st.peers_refused;
    t.membership_refused += st.membership_refused;
    t.frames_out += st.frames_out;
    t.dropped_backpressure += st.dropped_backpressure;
  }
  return t;
}

bool Simulator::membership_converged() const {
  std::vector<std::size_t> live;
  std::map<std::size_t, std::set<std::size_t>> adj;
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    if (!alive(i)) continue;
    live.push_back(i);
    for (const auto& p : slots_[i].node->neighbors()) {
      const std::size_t j = index_of(p);
      if (j >= slots_.size() || !alive(j)) return false;  // a dead neighbor is still listed
      adj[i].insert(j);
    }
    if (adj[i].empty() && slots_.size() > 1) return false;
  }
  for (const auto& [i, ns] : adj) {
    for (auto j : ns) {
      if (adj[j].count(i) == 0) return false;  // asymmetric
    }
  }
  if (live.empty()) return true;
  std::set<std::size_t> seen{live[0]};
  std::vector<std::size_t> stack{live[0]};
  while (!stack.empty()) {
    const std::size_t i = stack.back();
    stack.pop_back();
    for (auto j : adj[i]) {
      if (seen.insert(j).second) stack.push_back(j);
    }
  }
  return seen.size() == live.size();
}

// snprintf, not an ostringstream: iostreams pull libc++'s locale machinery (~25 KB gzipped) into
// the wasm every browser downloads. "%g" prints doubles as ostream's defaults do.
std::string Simulator::describe() const {
  char out[512];
  std::snprintf(out, sizeof out,
                "reproduce with NITRO_SEED=%llu nodes=%llu delay=%llu..%llu+%llums drop=%g dup=%g reorder=%g"
                " skew<=%llums drift<=%lluppm sync=%llums torn=%g",
                static_cast<unsigned long long>(config_.seed), static_cast<unsigned long long>(config_.nodes),
                static_cast<unsigned long long>(config_.delay_min_ms), static_cast<unsigned long long>(config_.delay_max_ms),
                static_cast<unsigned long long>(config_.jitter_ms), config_.drop_rate, config_.duplicate_rate,
                config_.reorder_rate, static_cast<unsigned long long>(config_.clock_skew_max_ms),
                static_cast<unsigned long long>(config_.clock_drift_max_ppm), static_cast<unsigned long long>(config_.storage_sync_ms),
                config_.torn_write_rate);
  return out;
}

}  // namespace nitro::sim
