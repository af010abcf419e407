// Selectors (seeded random, round-robin, consistent hashing on a ring with virtual nodes) and
// outlier detection (consecutive failures eject an instance for an exponentially growing time).
#include <algorithm>

#include "nitro/rpc.h"

namespace nitro::rpc {
namespace {

std::uint64_t mix64(std::uint64_t z) {  // splitmix64 finalizer
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::uint64_t hash64(std::string_view s, std::uint64_t salt) {  // FNV-1a, then mixed
  std::uint64_t h = 0xcbf29ce484222325ull ^ mix64(salt);
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return mix64(h);
}

// The ring point owning `key_hash`, walking clockwise to the first point whose peer `allowed`.
template <typename Allowed>
const PeerKey* ring_walk(const std::vector<std::pair<std::uint64_t, const PeerKey*>>& ring,
                         std::uint64_t key_hash, Allowed allowed) {
  if (ring.empty()) return nullptr;
  auto start = std::lower_bound(ring.begin(), ring.end(), std::make_pair(key_hash, static_cast<const PeerKey*>(nullptr)),
                                [](const auto& a, const auto& b) { return a.first < b.first; });
  std::size_t begin = static_cast<std::size_t>(start - ring.begin());
  for (std::size_t i = 0; i < ring.size(); ++i) {  // bounded: one lap
    const auto& point = ring[(begin + i) % ring.size()];
    if (allowed(*point.second)) return point.second;
  }
  return nullptr;
}

std::vector<std::pair<std::uint64_t, const PeerKey*>> build_ring(const std::vector<const PeerKey*>& peers) {
  std::vector<std::pair<std::uint64_t, const PeerKey*>> ring;
  ring.reserve(peers.size() * Balancer::kVirtualNodes);
  for (const PeerKey* p : peers) {
    for (std::uint32_t v = 0; v < Balancer::kVirtualNodes; ++v) ring.emplace_back(hash64(*p, v + 1), p);
  }
  // Ties (astronomically rare) are broken by peer key so the ring is deterministic.
  std::sort(ring.begin(), ring.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : *a.second < *b.second;
  });
  return ring;
}

}  // namespace

bool is_instance_failure(Code code) {
  switch (code) {
    case Code::kUnavailable:
    case Code::kInternal:
    case Code::kUnknown:
    case Code::kAborted:
    case Code::kResourceExhausted:
    case Code::kDeadlineExceeded:
    case Code::kDataLoss:
      return true;
    default:
      return false;
  }
}

Balancer::Balancer(std::uint64_t seed, OutlierConfig outlier) : rng_state_(seed), outlier_(outlier) {}

std::uint64_t Balancer::next_random() {
  rng_state_ += 0x9e3779b97f4a7c15ull;
  return mix64(rng_state_);
}

PeerKey Balancer::ring_owner(const std::vector<PeerKey>& peers, std::string_view key) {
  std::vector<const PeerKey*> ptrs;
  for (const auto& p : peers) ptrs.push_back(&p);
  auto ring = build_ring(ptrs);
  const PeerKey* owner = ring_walk(ring, hash64(key, 0), [](const PeerKey&) { return true; });
  return owner ? *owner : PeerKey{};
}

Result<PeerKey> Balancer::pick(const std::string& service, const std::vector<Instance>& candidates,
                               Strategy strategy, std::string_view hash_key, const std::set<PeerKey>& exclude,
                               std::int64_t now_ms) {
  std::vector<const PeerKey*> peers;
  peers.reserve(candidates.size());
  for (const auto& inst : candidates) peers.push_back(&inst.peer);
  auto picked = pick(service, peers, strategy, hash_key, exclude, now_ms);
  if (!picked.ok()) return picked.status();
  return **picked;
}

Result<const PeerKey*> Balancer::pick(const std::string& service, const std::vector<const PeerKey*>& candidates,
                                      Strategy strategy, std::string_view hash_key, const std::set<PeerKey>& exclude,
                                      std::int64_t now_ms) {
  open_.clear();     // not excluded
  healthy_.clear();  // not excluded, not ejected
  for (const PeerKey* peer : candidates) {
    if (!exclude.empty() && exclude.count(*peer)) continue;
    open_.push_back(peer);
    if (!ejected(*peer, now_ms)) healthy_.push_back(peer);
  }
  if (open_.empty()) return unavailable("no available instance of service '" + service + "'");
  const auto& pool = healthy_.empty() ? open_ : healthy_;
  switch (strategy) {
    case Strategy::kRandom:
      return pool[next_random() % pool.size()];
    case Strategy::kRoundRobin: {
      std::uint64_t& cursor = rr_next_[service];
      return pool[cursor++ % pool.size()];
    }
    case Strategy::kConsistentHash: {
      // The ring holds every candidate, so removing or ejecting one moves only its own keys.
      auto ring = build_ring(candidates);
      std::set<PeerKey> in_pool;
      for (const PeerKey* p : pool) in_pool.insert(*p);
      const PeerKey* owner = ring_walk(ring, hash64(hash_key, 0), [&](const PeerKey& p) { return in_pool.count(p) > 0; });
      if (!owner) return unavailable("no available instance of service '" + service + "'");
      return owner;
    }
  }
  return invalid_argument("unknown strategy");
}

void Balancer::report(const PeerKey& peer, bool success, std::int64_t now_ms) {
  auto it = health_.find(peer);
  if (success) {
    if (it != health_.end()) it->second.consecutive_failures = 0;
    return;
  }
  if (it == health_.end()) {
    if (health_.size() >= outlier_.tracked_peers_max) {
      // Bounded table: forget the healthiest-looking entry (fewest failures, not ejected).
      auto victim = std::min_element(health_.begin(), health_.end(), [](const auto& a, const auto& b) {
        return a.second.ejected_until_ms + a.second.consecutive_failures <
               b.second.ejected_until_ms + b.second.consecutive_failures;
      });
      health_.erase(victim);
    }
    it = health_.emplace(peer, Health{}).first;
  }
  Health& h = it->second;
  if (now_ms < h.ejected_until_ms) return;  // failures of in-flight calls while ejected
  if (++h.consecutive_failures < outlier_.consecutive_failures) return;
  h.consecutive_failures = 0;
  ++h.ejections;
  std::int64_t ms = outlier_.base_ejection_ms;
  for (std::uint32_t i = 1; i < h.ejections && ms < outlier_.max_ejection_ms; ++i) ms *= 2;
  h.ejected_until_ms = now_ms + std::min(ms, outlier_.max_ejection_ms);
}

bool Balancer::ejected(const PeerKey& peer, std::int64_t now_ms) const {
  auto it = health_.find(peer);
  return it != health_.end() && now_ms < it->second.ejected_until_ms;
}

}  // namespace nitro::rpc
