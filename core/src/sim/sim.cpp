#include "nitro/sim.h"

#include <algorithm>
#include <set>

#include "gossip/rng.h"
#include "nitro/assert.h"

namespace nitro::sim {
namespace {

crypto::Seed seed_bytes(std::uint64_t seed, std::uint64_t index, std::uint64_t purpose) {
  std::uint64_t x = seed ^ (index * 0x9e3779b97f4a7c15ULL) ^ (purpose << 56);
  crypto::Seed out{};
  for (std::size_t i = 0; i < out.size(); i += 8) {
    const std::uint64_t r = gossip::Rng::splitmix(x);
    for (std::size_t j = 0; j < 8; ++j) out[i + j] = static_cast<std::uint8_t>(r >> (8 * j));
  }
  return out;
}

}  // namespace

SimConfig& SimConfig::with_clock_faults() {
  gossip::Rng r(seed ^ 0xc10c4ULL);
  clock_skew_max_ms = r.chance(0.3) ? 0 : r.range(0, 10000);
  clock_drift_max_ppm = r.chance(0.3) ? 0 : r.range(0, 1000);
  return *this;
}

SimConfig SimConfig::swarm(std::uint64_t seed, std::size_t nodes) {
  gossip::Rng r(seed ^ 0x5377a4d5ULL);
  SimConfig c;
  c.seed = seed;
  c.nodes = nodes;
  c.delay_min_ms = r.range(1, 30);
  c.delay_max_ms = c.delay_min_ms + r.range(0, 80);
  c.jitter_ms = r.range(0, 20);
  c.drop_rate = r.chance(0.3) ? 0.0 : r.unit() * 0.05;
  c.duplicate_rate = r.chance(0.5) ? 0.0 : r.unit() * 0.05;
  c.reorder_rate = r.chance(0.5) ? 0.0 : r.unit() * 0.10;
  c.reset_on_crash = r.unit();
  c.contacts = r.range(1, 3);
  c.storage_sync_ms = r.range(0, 20);
  c.torn_write_rate = r.chance(0.5) ? 0.0 : r.unit() * 0.5;
  return c;
}

Simulator::Simulator(const SimConfig& config) : config_(config), rng_(std::make_unique<gossip::Rng>(config.seed)) {
  slots_.resize(config_.nodes);
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    Slot& s = slots_[i];
    s.config = config_.node;
    s.config.identity_seed = seed_bytes(config_.seed, i, 1);
    s.config.entropy = seed_bytes(config_.seed, i, 2);
    s.config.listen_address = address(i);
    s.config.bootstrap.clear();
    for (std::size_t k = 0; k < config_.contacts && i > 0; ++k) {
      s.config.bootstrap.push_back(address(rng_->below(i)));
    }
    if (config_.clock_skew_max_ms) s.skew_ms = rng_->below(config_.clock_skew_max_ms + 1);
    if (config_.clock_drift_max_ppm) {
      const auto span = 2 * config_.clock_drift_max_ppm + 1;
      s.drift_ppm = static_cast<std::int64_t>(rng_->below(span)) - static_cast<std::int64_t>(config_.clock_drift_max_ppm);
    }
    s.node = std::make_unique<Node>(s.config);
    by_peer_[s.node->id()] = i;
    const std::uint64_t start = config_.start_spread_ms ? rng_->below(config_.start_spread_ms) : 0;
    // Node 0 starts first so that every contact exists when it is dialed.
    schedule(Ev{i == 0 ? 0 : start + 1, 0, Kind::kStart, i, i, 0, 0, false, nullptr});
  }
  // Drawn after everything else so that runs without slow nodes replay as before.
  for (std::size_t k = 0; k < config_.slow_nodes && !slots_.empty(); ++k) {
    slots_[rng_->below(slots_.size())].cost_factor = std::max<std::uint64_t>(1, config_.slow_factor);
  }
}

Simulator::~Simulator() = default;

std::size_t Simulator::index_of(const PeerId& peer) const {
  auto it = by_peer_.find(peer);
  return it == by_peer_.end() ? slots_.size() : it->second;
}

std::uint64_t Simulator::local_at(std::size_t i, std::uint64_t t) const {
  const Slot& s = slots_[i];
  // t * drift / 1e6 without overflow for any t a test reaches (< 2^63 / 1e6 ms).
  const std::int64_t d = static_cast<std::int64_t>(t) / 1000000 * s.drift_ppm +
                         static_cast<std::int64_t>(t % 1000000) * s.drift_ppm / 1000000;
  return s.skew_ms + t + static_cast<std::uint64_t>(d);
}

std::uint64_t Simulator::local_ms(std::size_t i) const { return local_at(i, now_ms_); }

std::uint64_t Simulator::global_at(std::size_t i, std::uint64_t local) const {
  const Slot& s = slots_[i];
  if (local <= local_at(i, 0)) return 0;
  const double guess = static_cast<double>(local - s.skew_ms) * 1e6 / (1e6 + static_cast<double>(s.drift_ppm));
  std::uint64_t t = static_cast<std::uint64_t>(guess);
  while (t > 0 && local_at(i, t - 1) >= local) --t;
  while (local_at(i, t) < local) ++t;
  return t;
}

std::optional<std::size_t> Simulator::parse(const Address& address) const {
  if (address.size() < 2 || address[0] != 'n') return std::nullopt;
  std::size_t v = 0;
  for (std::size_t k = 1; k < address.size(); ++k) {
    if (address[k] < '0' || address[k] > '9') return std::nullopt;
    v = v * 10 + static_cast<std::size_t>(address[k] - '0');
    if (v >= slots_.size()) return std::nullopt;
  }
  return v;
}

void Simulator::schedule(Ev ev) {
  ev.order = ++order_;
  queue_.push(std::move(ev));
}

std::uint64_t Simulator::link_delay_ms(std::size_t from, std::size_t to) {
  // Base latency is a pure function of (seed, link): a stable per-link distribution.
  std::uint64_t x = config_.seed ^ (std::min(from, to) * 1000003ULL + std::max(from, to));
  const std::uint64_t span = config_.delay_max_ms - config_.delay_min_ms + 1;
  const std::uint64_t base = config_.delay_min_ms + gossip::Rng::splitmix(x) % span;
  std::uint64_t d = base + (config_.jitter_ms ? rng_->below(config_.jitter_ms + 1) : 0);
  if (config_.reorder_rate > 0 && rng_->chance(config_.reorder_rate)) d += rng_->below(4 * base + 1);
  return d;
}

bool Simulator::blocked(std::size_t from, std::size_t to) const {
  if (!partitioned_ || slots_[from].group == slots_[to].group) return false;
  return partition_symmetric_ || slots_[from].group == 1;  // asymmetric: only side A -> side B is lost
}

std::uint64_t Simulator::conn_id(std::size_t a, std::size_t b) const {
  auto it = conns_.find({std::min(a, b), std::max(a, b)});
  return it == conns_.end() ? 0 : it->second.id;
}

bool Simulator::conn_alive(std::size_t a, std::size_t b) const {
  auto it = conns_.find({std::min(a, b), std::max(a, b)});
  if (it == conns_.end()) return false;
  const std::size_t lo = std::min(a, b), hi = std::max(a, b);
  return alive(a) && alive(b) && it->second.inc_a == slots_[lo].incarnation && it->second.inc_b == slots_[hi].incarnation;
}

void Simulator::run_until(std::uint64_t t_ms) {
  while (!queue_.empty() && queue_.top().at_ms <= t_ms) {
    Ev ev = queue_.top();
    queue_.pop();
    now_ms_ = std::max(now_ms_, ev.at_ms);
    net_.events_processed++;
    process(ev);
  }
  now_ms_ = std::max(now_ms_, t_ms);
}

void Simulator::start_node(std::size_t i) {
  slots_[i].node->start(local_ms(i));
  pump(i);
}

// The busy-node model, a FIFO processor: input for a node still busy is booked at once behind
// the work already booked (so each input is re-queued once, and arrival order is kept).
bool Simulator::wait_if_busy(const Ev& ev, std::uint64_t cost_us) {
  std::uint64_t& busy = busy_until_us(ev.to);
  const std::uint64_t now_us = now_ms_ * 1000;
  if (ev.reserved) return false;
  if (busy <= now_us) {
    busy = now_us + cost_us;
    return false;
  }
  Ev later = ev;
  later.at_ms = (busy + cost_us + 999) / 1000;  // processed when its own work is done
  later.reserved = true;
  net_.busy_waits++;
  net_.busy_wait_max_us = std::max(net_.busy_wait_max_us, busy - now_us);
  busy += cost_us;
  schedule(std::move(later));
  return true;
}

void Simulator::process(const Ev& ev) {
  const std::size_t i = ev.to;
  if (!alive(i)) return;
  Node& n = *slots_[i].node;
  // Starting and storage cost nothing; a superseded timer is no work either.
  const std::uint64_t cost_us = (ev.kind == Kind::kTimer ? config_.timer_cost_us : config_.frame_cost_us) * slots_[i].cost_factor;
  const bool stale_timer = ev.kind == Kind::kTimer && ev.gen != slots_[i].timer_gen;
  if (cost_us > 0 && ev.kind != Kind::kStart && ev.kind != Kind::kSync && !stale_timer && wait_if_busy(ev, cost_us)) return;
  switch (ev.kind) {
    case Kind::kStart:
      if (ev.gen != slots_[i].incarnation) return;
      start_node(i);
      return;
    case Kind::kTimer:
      if (ev.gen != slots_[i].timer_gen) return;
      slots_[i].ticks_at_same_ms = slots_[i].last_tick_ms == now_ms_ ? slots_[i].ticks_at_same_ms + 1 : 0;
      slots_[i].last_tick_ms = now_ms_;
      // A node whose next_deadline() does not advance after tick() livelocks the run.
      NITRO_ASSERT(slots_[i].ticks_at_same_ms < 100000);
      slots_[i].timer_ms = UINT64_MAX;
      n.tick(local_ms(i));
      break;
    case Kind::kConnect:
      // The notice of a connection since replaced would start a handshake on the new one.
      if (!conn_alive(i, ev.from) || conn_id(i, ev.from) != ev.gen) return;
      n.connect(address(ev.from), ev.initiator, local_ms(i));
      break;
    case Kind::kDisconnect:
      // Stale notice: the connection it ended was since replaced by a new one.
      if (ev.gen != slots_[i].incarnation || conn_id(i, ev.from) != ev.from_inc) return;
      n.disconnect(address(ev.from), local_ms(i));
      break;
    case Kind::kSync: {
      if (ev.gen != slots_[i].incarnation) return;  // the batch died with its process
      Slot& s = slots_[i];
      NITRO_ASSERT(!s.unsynced.empty());
      apply(s, s.unsynced.front(), s.unsynced.front().size());
      s.unsynced.pop_front();
      return;
    }
    case Kind::kFrame:
      // A frame belongs to the connection it was sent on: one still in flight when that connection
      // was replaced between the same pair must not reach the new link's secure session.
      if (!conn_alive(i, ev.from) || conn_id(i, ev.from) != ev.gen || ev.from_inc != slots_[ev.from].incarnation ||
          blocked(ev.from, i)) {
        net_.frames_dropped++;
        return;
      }
      net_.frames_delivered++;
      (void)n.handle(address(ev.from), *ev.bytes, local_ms(i));
      break;
  }
  pump(i);
}

void Simulator::reschedule_timer(std::size_t i) {
  Slot& s = slots_[i];
  auto deadline = s.node->next_deadline();
  if (!deadline) return;
  const std::uint64_t at = std::max(global_at(i, *deadline), now_ms_);
  if (at == s.timer_ms) return;
  // An overdue tick already waits behind a busy node's backlog: re-booking it would starve it.
  if (at == now_ms_ && s.timer_ms < now_ms_) return;
  s.timer_ms = at;
  schedule(Ev{at, 0, Kind::kTimer, i, i, ++s.timer_gen, 0, false, nullptr});
}

}  // namespace nitro::sim
