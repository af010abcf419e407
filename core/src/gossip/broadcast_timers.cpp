// Broadcast: per-stream ordering and dedup state, and the timers (GRAFT/IWANT pulls, IHAVE
// flushes, ordering gaps, the kMesh heartbeat).
#include <algorithm>

#include "gossip/broadcast.h"

namespace nitro::gossip {

bool Broadcast::received(const MsgId& id) const {
  auto it = streams_.find(StreamKey{id.origin, id.topic});
  if (it == streams_.end()) return false;
  const Stream& s = it->second;
  return (s.next_seq != 0 && id.seq < s.next_seq) || s.held.count(id.seq) != 0;
}

Broadcast::Stream& Broadcast::stream(const PeerId& origin, const std::string& topic) {
  StreamKey key{origin, topic};
  auto it = streams_.find(key);
  if (it == streams_.end()) {
    if (streams_.size() >= config_.limits.seen_streams_max && !streams_by_use_.empty()) {
      const StreamKey victim = streams_by_use_.begin()->second;  // least recently used
      streams_by_use_.erase(streams_by_use_.begin());
      streams_.erase(victim);
      waiting_.erase(victim);
    }
    it = streams_.emplace(key, Stream{}).first;
  } else {
    streams_by_use_.erase(it->second.use);
  }
  it->second.use = ++use_clock_;
  streams_by_use_[it->second.use] = key;
  return it->second;
}

void Broadcast::hold(const crypto::Envelope& env, const PeerId& from, std::uint32_t hops, std::uint64_t now_ms) {
  Stream& s = stream(env.origin, env.topic);
  s.heard++;
  if (s.next_seq == 0 && (env.seq == 1 || from == self_)) s.next_seq = env.seq;
  if (s.held.empty()) s.gap_since_ms = now_ms;
  s.held.emplace(env.seq, Held{env, from, hops});
  if (s.held.size() > config_.limits.hold_back_per_stream_max) {
    s.next_seq = s.held.begin()->first;  // buffer full: give up on the gap
    host_.stats().ordering_gaps_skipped++;
  }
  release(s, now_ms);
  const StreamKey key{env.origin, env.topic};
  if (s.held.empty()) {
    waiting_.erase(key);
  } else {
    waiting_.insert(key);
  }
}

void Broadcast::release(Stream& s, std::uint64_t now_ms) {
  while (!s.held.empty() && s.next_seq != 0 && s.held.begin()->first <= s.next_seq) {
    auto node = s.held.extract(s.held.begin());
    const bool in_order = node.key() == s.next_seq;
    s.next_seq = node.key() + 1;
    s.gap_since_ms = now_ms;
    if (in_order) {
      host_.stats().delivered++;
      host_.deliver(node.mapped().envelope, node.mapped().from, node.mapped().hops, now_ms);
    }
  }
}

void Broadcast::tick_gaps(std::uint64_t now_ms) {
  std::vector<StreamKey> done;
  for (const auto& key : waiting_) {
    auto it = streams_.find(key);
    if (it == streams_.end()) {
      done.push_back(key);
      continue;
    }
    Stream& s = it->second;
    if (!s.held.empty() && now_ms >= s.gap_since_ms + config_.timers.reorder_wait_ms) {
      if (s.next_seq != 0) host_.stats().ordering_gaps_skipped++;
      s.next_seq = s.held.begin()->first;
      release(s, now_ms);
    }
    if (s.held.empty()) done.push_back(key);
  }
  for (const auto& key : done) waiting_.erase(key);
}

// A payload we had pulled arriving from someone other than the peer we last pulled it from was
// late, not lost (the eager copy, or the answer to an earlier GRAFT): that GRAFT was wasted work,
// so wait longer before the next one.
void Broadcast::note_arrival(const MsgId& id, const PeerId& from, std::uint64_t now_ms) {
  auto it = missing_.find(id);
  if (it == missing_.end()) return;
  const auto& pulled = it->second.pulled_from;
  if (config_.mode == BroadcastMode::kPlumtree && !pulled.empty() && pulled.back() != from) {
    late_payloads_++;
    if (graft_wait_at_ms_ + graft_wait_ms_ / 2 <= now_ms) {  // one doubling per burst of lateness
      graft_wait_ms_ = std::min(kGraftWaitMaxMs, 2 * graft_wait_ms_);
      graft_wait_at_ms_ = now_ms;
    }
  }
  missing_.erase(it);
}

bool Broadcast::take_graft_token(std::uint64_t now_ms) {
  const std::uint64_t earned = (now_ms - std::min(now_ms, graft_tokens_at_ms_)) * kGraftsPerSecond / 1000;
  if (earned > 0) {
    graft_tokens_ = std::min(kGraftBurst, graft_tokens_ + earned);
    graft_tokens_at_ms_ = now_ms;
  }
  if (graft_tokens_ == 0) return false;
  if (graft_tokens_ == kGraftBurst) graft_tokens_at_ms_ = now_ms;  // a full bucket earns nothing
  --graft_tokens_;
  return true;
}

void Broadcast::tick_missing(std::uint64_t now_ms) {
  // The wait halves back toward ihave_timeout_ms for every quiet stretch as long as itself.
  const std::uint64_t base = config_.timers.ihave_timeout_ms;
  while (graft_wait_ms_ > base && now_ms >= graft_wait_at_ms_ + 2 * graft_wait_ms_) {
    graft_wait_at_ms_ += 2 * graft_wait_ms_;
    graft_wait_ms_ = std::max(base, graft_wait_ms_ / 2);
  }
  std::vector<MsgId> drop;
  const std::uint64_t token_ms = 1000 / kGraftsPerSecond;
  for (auto& [id, m] : missing_) {
    if (m.deadline_ms > now_ms) continue;
    // received(): it came, or its ordering gap was skipped meanwhile; either way pulling it
    // again would only bring a duplicate.
    if (m.announcers.empty() || m.attempts >= kGraftAttemptsMax || received(id)) {
      drop.push_back(id);
      continue;
    }
    if (config_.mode == BroadcastMode::kPlumtree && !take_graft_token(now_ms)) {
      m.deadline_ms = now_ms + token_ms;  // paced: the next token
      continue;
    }
    const PeerId to = m.announcers[m.attempts % m.announcers.size()];
    m.pulled_from.erase(std::remove(m.pulled_from.begin(), m.pulled_from.end(), to), m.pulled_from.end());
    m.pulled_from.push_back(to);  // the last pulled from is at the back
    ++m.attempts;
    // A busy peer answers late too: the retry waits as long as the adapted IHAVE wait.
    m.deadline_ms = now_ms + std::max(config_.timers.graft_retry_ms, graft_wait_ms_);
    Msg pull;
    pull.kind = config_.mode == BroadcastMode::kMesh ? Kind::kIWant : Kind::kGraft;
    pull.ids.push_back(IdRound{id, m.round});
    if (pull.kind == Kind::kGraft) {
      set_lazy(id.topic, to, false);
      set_tree_lazy(id, to, false);
    }
    host_.stats().grafts_sent++;
    host_.send(to, pull);
  }
  for (const auto& id : drop) missing_.erase(id);
}

void Broadcast::tick_lazy(std::uint64_t now_ms, bool force) {
  for (auto& [peer, q] : lazy_queues_) {
    if (q.ids.empty() || (!force && q.flush_ms > now_ms)) continue;
    Msg ihave;
    ihave.kind = Kind::kIHave;
    ihave.ids = std::move(q.ids);
    q.ids.clear();
    host_.stats().ihave_sent++;
    host_.send(peer, ihave);
  }
}

void Broadcast::tick(std::uint64_t now_ms) {
  tick_lazy(now_ms, false);
  tick_missing(now_ms);
  if (!waiting_.empty()) tick_gaps(now_ms);
  if (config_.mode == BroadcastMode::kMesh && now_ms >= next_heartbeat_ms_) tick_mesh(now_ms);
  if (config_.mode == BroadcastMode::kPlumtree && now_ms >= next_heartbeat_ms_) tick_digest(now_ms);
  if (!trees_.empty()) sweep_trees(now_ms);
  // Old cache entries go by age too (GRAFTs for them would come far too late to help).
  while (!cache_order_.empty()) {
    auto it = cache_.find(cache_order_.front());
    if (it != cache_.end() && it->second.at_ms + config_.timers.message_ttl_ms > now_ms) break;
    if (it != cache_.end()) cache_.erase(it);
    cache_order_.pop_front();
  }
}

std::optional<std::uint64_t> Broadcast::next_deadline() const {
  std::optional<std::uint64_t> t;
  auto take = [&t](std::uint64_t v) { t = t ? std::min(*t, v) : v; };
  for (const auto& [peer, q] : lazy_queues_) {
    if (!q.ids.empty()) take(q.flush_ms);
  }
  for (const auto& [id, m] : missing_) take(m.deadline_ms);
  for (const auto& key : waiting_) {
    auto it = streams_.find(key);
    if (it != streams_.end()) take(it->second.gap_since_ms + config_.timers.reorder_wait_ms);
  }
  if (config_.mode == BroadcastMode::kMesh || !recent_.empty()) take(next_heartbeat_ms_);
  if (!cache_order_.empty()) {
    // Expiry is swept on a coarse grid: one wake-up per kCacheSweepMs, not one per message.
    auto it = cache_.find(cache_order_.front());
    const std::uint64_t due = it == cache_.end() ? 0 : it->second.at_ms + config_.timers.message_ttl_ms;
    take((due / kCacheSweepMs + 1) * kCacheSweepMs);
  }
  return t;
}

void Broadcast::tick_mesh(std::uint64_t now_ms) {
  next_heartbeat_ms_ = now_ms + config_.timers.mesh_heartbeat_ms;
  const std::size_t d = config_.mesh_degree;
  const std::size_t d_lo = d > 2 ? d - 2 : 1;
  const std::size_t d_hi = 2 * d;
  for (auto& [topic, mesh] : mesh_) {
    for (auto it = mesh.begin(); it != mesh.end();) it = neighbors_.count(*it) ? std::next(it) : mesh.erase(it);
    std::vector<PeerId> others;
    for (const auto& p : neighbors_) {
      if (mesh.count(p) == 0) others.push_back(p);
    }
    shuffle(others, host_.rng());
    Msg m;
    m.name = topic;
    m.kind = Kind::kMeshGraft;
    if (mesh.size() < d_lo) {
      for (std::size_t i = 0; mesh.size() < d && i < others.size(); ++i) {
        mesh.insert(others[i]);
        host_.send(others[i], m);
      }
    }
    m.kind = Kind::kMeshPrune;
    while (mesh.size() > d_hi) {
      auto victim = std::next(mesh.begin(), static_cast<long>(host_.rng().below(mesh.size())));
      host_.send(*victim, m);
      mesh.erase(victim);
    }
    mesh_gossip(topic, now_ms);
  }
}

void Broadcast::prune_recent(std::uint64_t now_ms) {
  const std::uint64_t window_ms = kMeshHistoryHeartbeats * config_.timers.mesh_heartbeat_ms;
  for (auto it = recent_.begin(); it != recent_.end();) {
    auto& recent = it->second;
    while (!recent.empty() && recent.front().at_ms + window_ms <= now_ms) recent.pop_front();
    it = recent.empty() ? recent_.erase(it) : std::next(it);
  }
}

void Broadcast::tick_digest(std::uint64_t now_ms) {
  next_heartbeat_ms_ = now_ms + config_.timers.mesh_heartbeat_ms;
  prune_recent(now_ms);
  if (recent_.empty() || neighbors_.empty()) return;
  Msg ihave;
  ihave.kind = Kind::kIHave;
  for (const auto& [topic, recent] : recent_) {
    for (const auto& r : recent) {
      if (ihave.ids.size() < config_.limits.lazy_queue_per_peer_max) ihave.ids.push_back(IdRound{r.id, r.round});
    }
  }
  for (const auto& to : neighbors_) {
    host_.stats().ihave_sent++;
    host_.send(to, ihave);
  }
}

void Broadcast::mesh_gossip(const std::string& topic, std::uint64_t now_ms) {
  prune_recent(now_ms);
  auto rit = recent_.find(topic);
  if (rit == recent_.end()) return;
  auto& recent = rit->second;
  Msg ihave;
  ihave.kind = Kind::kIHave;
  for (const auto& r : recent) {
    if (ihave.ids.size() < 1000) ihave.ids.push_back(IdRound{r.id, r.round});
  }
  std::vector<PeerId> others;
  const auto& mesh = mesh_[topic];
  for (const auto& p : neighbors_) {
    if (mesh.count(p) == 0) others.push_back(p);
  }
  shuffle(others, host_.rng());
  if (others.size() > config_.mesh_gossip_peers) others.resize(config_.mesh_gossip_peers);
  for (const auto& p : others) {
    host_.stats().ihave_sent++;
    host_.send(p, ihave);
  }
}

}  // namespace nitro::gossip
