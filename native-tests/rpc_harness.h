// Test harness for the RPC engine: several engines on a virtual clock, joined by a network that
// is either perfect or seeded-lossy (loss, duplication, reordering by random delay, partitions).
// Everything derives from one seed, so a failing seed replays exactly.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "nitro/rpc.h"
#include "test_util.h"

namespace nitro::test {


struct Faults {
  double loss = 0;
  double duplicate = 0;
  std::int64_t delay_ms_max = 0;  // uniform delay in [1, max]: reorders
};

class RpcNet {
 public:
  using Handler = std::function<void(const std::string& node, rpc::Event&)>;

  explicit RpcNet(std::uint64_t seed, Faults faults = {}) : rng_{seed}, faults_(faults) {}

  rpc::Engine& add(const std::string& name, rpc::EngineConfig config = {}) {
    auto& slot = nodes_[name];
    slot = std::make_unique<rpc::Engine>(name, rng_.next(), config);
    return *slot;
  }
  rpc::Engine& at(const std::string& name) { return *nodes_.at(name); }
  void on_event(Handler h) { handler_ = std::move(h); }
  void set_faults(Faults faults) { faults_ = faults; }
  SplitMix& rng() { return rng_; }
  void partition(const std::string& a, const std::string& b, bool cut) {
    auto key = a < b ? std::make_pair(a, b) : std::make_pair(b, a);
    if (cut) cut_.insert(key); else cut_.erase(key);
  }
  std::int64_t now() const { return now_ms_; }

  // Moves frames and events until quiet at the current time (bounded rounds).
  void pump() {
    for (int round = 0; round < 10000; ++round) {
      bool moved = false;
      for (auto& [name, engine] : nodes_) {
        while (auto t = engine->poll_transmit()) { send(name, std::move(*t)); moved = true; }
        while (auto e = engine->poll_event()) {
          moved = true;
          if (handler_) handler_(name, *e);
        }
      }
      moved |= deliver_due();
      if (!moved) return;
    }
  }

  // Advances virtual time by `ms` in 1 ms steps (ticking every engine), pumping at each step.
  void advance(std::int64_t ms) {
    for (std::int64_t i = 0; i < ms; ++i) {
      ++now_ms_;
      for (auto& [name, engine] : nodes_) engine->tick(now_ms_);
      pump();
    }
  }

  std::size_t in_flight() const { return wire_.size(); }

 private:
  struct Packet {
    std::string from, to;
    Bytes bytes;
  };

  void send(const std::string& from, rpc::Transmit t) {
    auto key = from < t.peer ? std::make_pair(from, t.peer) : std::make_pair(t.peer, from);
    if (cut_.count(key) || !nodes_.count(t.peer)) return;
    if (rng_.unit() < faults_.loss) return;
    int copies = rng_.unit() < faults_.duplicate ? 2 : 1;
    for (int i = 0; i < copies; ++i) {
      std::int64_t delay = faults_.delay_ms_max > 0 ? 1 + static_cast<std::int64_t>(rng_.below(faults_.delay_ms_max)) : 0;
      wire_.emplace(std::make_pair(now_ms_ + delay, seq_++), Packet{from, t.peer, t.bytes});
    }
  }

  bool deliver_due() {
    bool any = false;
    while (!wire_.empty() && wire_.begin()->first.first <= now_ms_) {
      Packet p = std::move(wire_.begin()->second);
      wire_.erase(wire_.begin());
      Status s = nodes_.at(p.to)->handle(p.from, p.bytes, now_ms_);
      if (!s.ok()) throw std::runtime_error("engine rejected a frame it produced: " + s.to_string());
      any = true;
    }
    return any;
  }

  SplitMix rng_;
  Faults faults_;
  std::int64_t now_ms_ = 0;
  std::uint64_t seq_ = 0;
  std::map<std::string, std::unique_ptr<rpc::Engine>> nodes_;
  std::map<std::pair<std::int64_t, std::uint64_t>, Packet> wire_;  // (deliver at, order) -> packet
  std::set<std::pair<std::string, std::string>> cut_;
  Handler handler_;
};

inline Bytes bytes_of(const std::string& s) { return Bytes(s.begin(), s.end()); }
inline std::string str_of(const Bytes& b) { return std::string(b.begin(), b.end()); }

}  // namespace nitro::test
