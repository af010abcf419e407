#include "gossip/broadcast.h"

#include <algorithm>

namespace nitro::gossip {

Broadcast::Broadcast(PeerId self, const NodeConfig& config, BroadcastHost& host)
    : self_(self), config_(config), host_(host), graft_wait_ms_(config.timers.ihave_timeout_ms) {}

void Broadcast::neighbor_up(const PeerId& peer, std::uint64_t now_ms) {
  neighbors_.insert(peer);
  for (auto& [topic, lazy] : lazy_) lazy.erase(peer);  // a new neighbor starts eager
  for (auto& [key, tree] : trees_) tree.lazy.erase(peer);
  offer_recent(peer, now_ms);
}

// A route repaired after a message went by (a neighbor lost or refused, which may have been a
// publisher's only link) must still carry it, and the heartbeat digest covers only its last few
// heartbeats: so a new neighbor hears of the messages cached in the last kOfferMs and pulls what
// it lacks.
void Broadcast::offer_recent(const PeerId& peer, std::uint64_t now_ms) {
  if (config_.mode != BroadcastMode::kPlumtree) return;
  Msg ihave;
  ihave.kind = Kind::kIHave;
  for (auto it = cache_order_.rbegin(); it != cache_order_.rend(); ++it) {
    auto cached = cache_.find(*it);
    if (cached == cache_.end()) continue;
    if (cached->second.at_ms + kOfferMs < now_ms || ihave.ids.size() >= config_.limits.lazy_queue_per_peer_max) break;
    ihave.ids.push_back(IdRound{*it, cached->second.hops});
  }
  if (ihave.ids.empty()) return;
  host_.stats().ihave_sent++;
  host_.send(peer, ihave);
}

void Broadcast::neighbor_down(const PeerId& peer) {
  neighbors_.erase(peer);
  // Lateness taught the GRAFT wait to be patient; a lost neighbor means payloads are now lost,
  // not late: the tree repairs at the base wait.
  graft_wait_ms_ = config_.timers.ihave_timeout_ms;
  for (auto& [topic, lazy] : lazy_) lazy.erase(peer);
  for (auto& [topic, mesh] : mesh_) mesh.erase(peer);
  for (auto& [key, tree] : trees_) tree.lazy.erase(peer);
  lazy_queues_.erase(peer);
  for (auto& [id, m] : missing_) {
    m.announcers.erase(std::remove(m.announcers.begin(), m.announcers.end(), peer), m.announcers.end());
  }
}

void Broadcast::add_topic(const std::string& topic) {
  if (config_.mode == BroadcastMode::kMesh && mesh_.size() < config_.limits.topics_max) mesh_[topic];
}

bool Broadcast::is_lazy(const std::string& topic, const PeerId& peer) const {
  auto it = lazy_.find(topic);
  return it != lazy_.end() && it->second.count(peer) != 0;
}

void Broadcast::set_lazy(const std::string& topic, const PeerId& peer, bool lazy) {
  if (lazy) {
    if (neighbors_.count(peer) != 0 && lazy_.size() < config_.limits.topics_max * 4) lazy_[topic].insert(peer);
  } else {
    auto it = lazy_.find(topic);
    if (it != lazy_.end()) it->second.erase(peer);
  }
}

std::vector<PeerId> Broadcast::eager_targets(const std::string& topic) const {
  std::vector<PeerId> out;
  if (config_.mode == BroadcastMode::kMesh) {
    auto it = mesh_.find(topic);
    if (it == mesh_.end()) return out;
    for (const auto& p : it->second) {
      if (neighbors_.count(p) != 0) out.push_back(p);
    }
    return out;
  }
  for (const auto& p : neighbors_) {
    if (config_.mode == BroadcastMode::kFlood || !is_lazy(topic, p)) out.push_back(p);
  }
  return out;
}

void Broadcast::originate(const crypto::Envelope& env, std::uint64_t now_ms) {
  const Bytes bytes = env.encode();
  accept(env, bytes, self_, 0, now_ms);
}

Status Broadcast::on_frame(const PeerId& from, const Msg& msg, std::uint64_t now_ms) {
  switch (msg.kind) {
    case Kind::kGossip: return on_gossip(from, msg, now_ms);
    case Kind::kIHave: on_ihave(from, msg, now_ms); break;
    case Kind::kGraft:
    case Kind::kIWant: on_graft(from, msg); break;
    case Kind::kPrune: on_prune(from, msg); break;
    case Kind::kMeshGraft: on_mesh_graft(from, msg.name); break;
    case Kind::kMeshPrune: {
      auto it = mesh_.find(msg.name);
      if (it != mesh_.end()) it->second.erase(from);
      break;
    }
    default: break;
  }
  return Status::ok_status();
}

Status Broadcast::on_gossip(const PeerId& from, const Msg& msg, std::uint64_t now_ms) {
  crypto::EnvelopeLimits limits;
  limits.topic_bytes_max = config_.limits.topic_bytes_max;
  limits.payload_bytes_max = config_.limits.payload_bytes_max;
  auto env = crypto::Envelope::decode(msg.body, limits);
  if (!env.ok()) return env.status();
  const MsgId id{env->origin, env->topic, env->seq};
  if (env->seq == 0) return decode_error("gossip: seq 0");
  host_.stats().payloads_received++;
  // Our own messages come back only as relays of what we sent, possibly in an earlier life (its
  // ordering state is gone after a restart): never accept them from a peer.
  if (received(id) || env->origin == self_) {
    host_.stats().duplicate_payloads++;
    missing_.erase(id);  // e.g. a gap skipped while its pull was under way: stop pulling
    if (config_.mode == BroadcastMode::kPlumtree && neighbors_.count(from) != 0) on_duplicate(from, id, msg.flag);
    return Status::ok_status();
  }
  Status verified = env->verify();
  if (!verified.ok()) {
    host_.stats().auth_failures++;
    return verified;
  }
  if (!host_.admit(*env)) return Status::ok_status();
  accept(*env, msg.body, from, msg.round + 1, now_ms);
  return Status::ok_status();
}

// A duplicate pushed along the origin's tree prunes that link of that tree only. One pushed along
// the topic tree prunes the topic link, unless our first copy came within the flooded first hops:
// that says nothing about the tree (pruning it would cut the tree for other publishers).
void Broadcast::on_duplicate(const PeerId& from, const MsgId& id, bool by_origin_tree) {
  if (by_origin_tree) {
    set_tree_lazy(id, from, true);
    send_tree_link(from, id, Kind::kPrune);
    return;
  }
  if (is_lazy(id.topic, from) || came_by_flood(id)) return;
  set_lazy(id.topic, from, true);
  Msg prune;
  prune.kind = Kind::kPrune;
  prune.name = id.topic;
  host_.send(from, prune);
  host_.stats().prunes_sent++;
}

void Broadcast::accept(const crypto::Envelope& env, const Bytes& bytes, const PeerId& from, std::uint32_t hops,
                       std::uint64_t now_ms) {
  const MsgId id{env.origin, env.topic, env.seq};
  note_arrival(id, from, now_ms);
  add_topic(env.topic);
  cache_put(id, bytes, from, hops, now_ms);
  forward(id, bytes, hops, from, now_ms);
  hold(env, from, hops, now_ms);
  plant_tree(id, now_ms);
}

void Broadcast::forward(const MsgId& id, const Bytes& bytes, std::uint32_t hops, const PeerId& except,
                        std::uint64_t now_ms) {
  Msg gossip;
  gossip.kind = Kind::kGossip;
  gossip.body = bytes;
  gossip.round = hops;
  const OriginTree* tree = origin_tree(id);
  gossip.flag = tree != nullptr;
  // The topic tree is shared by all publishers, so a publisher far from its centre pays many hops.
  // Flooding the first plumtree_flood_hops hops seeds the message at dozens of places in the tree
  // at the cost of a few duplicates near the publisher.
  const bool flood = !tree && config_.mode == BroadcastMode::kPlumtree && hops < flood_hops();
  std::vector<PeerId> targets;
  if (tree || flood) {
    for (const auto& p : neighbors_) {
      if (!tree || tree->lazy.count(p) == 0) targets.push_back(p);
    }
  } else {
    targets = eager_targets(id.topic);
  }
  for (const auto& p : targets) {
    if (p != except && host_.may_forward(p, id.topic)) host_.send(p, gossip);
  }
  if (config_.mode != BroadcastMode::kFlood && recent_.size() < config_.limits.topics_max) {
    auto& recent = recent_[id.topic];
    recent.push_back(Recent{id, hops, now_ms});
    if (recent.size() > config_.limits.lazy_queue_per_peer_max) recent.pop_front();
  }
  if (config_.mode != BroadcastMode::kPlumtree || flood) return;
  if (tree) {
    announce(id, hops, except, tree->lazy, now_ms);
    return;
  }
  auto it = lazy_.find(id.topic);
  if (it != lazy_.end()) announce(id, hops, except, it->second, now_ms);
}

void Broadcast::announce(const MsgId& id, std::uint32_t hops, const PeerId& except, const std::set<PeerId>& lazy,
                         std::uint64_t now_ms) {
  for (const auto& p : lazy) {
    if (p == except) continue;
    auto& q = lazy_queues_[p];
    if (q.ids.empty()) q.flush_ms = now_ms + config_.timers.lazy_flush_ms;
    if (q.ids.size() >= config_.limits.lazy_queue_per_peer_max) q.ids.erase(q.ids.begin());
    q.ids.push_back(IdRound{id, hops});
  }
}

void Broadcast::on_ihave(const PeerId& from, const Msg& msg, std::uint64_t now_ms) {
  const bool mesh = config_.mode == BroadcastMode::kMesh;
  for (const auto& ir : msg.ids) {
    if (ir.id.seq == 0 || ir.id.origin == self_) continue;
    if (received(ir.id)) {
      if (!mesh) shorten(from, ir);
      continue;
    }
    auto it = missing_.find(ir.id);
    if (it == missing_.end()) {
      if (missing_.size() >= kMissingMax) continue;
      // gossipsub pulls at once (IWANT); Plumtree waits for the eager copy first.
      Missing m{{from}, {}, ir.round, 0, mesh ? now_ms : now_ms + graft_wait_ms_};
      missing_.emplace(ir.id, std::move(m));
      continue;
    }
    auto& ann = it->second.announcers;
    if (ann.size() < kAnnouncersMax && std::find(ann.begin(), ann.end(), from) == ann.end()) ann.push_back(from);
  }
}

// A first copy that arrived within the flooded first hops says nothing about the tree: the eager
// link that brings the second copy stays eager (pruning it would cut the tree for other publishers).
bool Broadcast::came_by_flood(const MsgId& id) const {
  auto it = cache_.find(id);
  return it != cache_.end() && it->second.hops <= flood_hops();
}

void Broadcast::on_graft(const PeerId& from, const Msg& msg) {
  for (const auto& ir : msg.ids) {
    if (msg.kind == Kind::kGraft) set_tree_lazy(ir.id, from, false);
    if (msg.kind == Kind::kGraft && msg.flag) continue;  // a shortcut: the link only, no payload
    if (msg.kind == Kind::kGraft) set_lazy(ir.id.topic, from, false);
    send_payload(from, ir.id);
  }
}

void Broadcast::on_prune(const PeerId& from, const Msg& msg) {
  if (msg.ids.empty()) {
    set_lazy(msg.name, from, true);
    return;
  }
  for (const auto& ir : msg.ids) set_tree_lazy(ir.id, from, true);
}

void Broadcast::on_mesh_graft(const PeerId& from, const std::string& topic) {
  if (neighbors_.count(from) == 0) return;
  auto& mesh = mesh_[topic];
  if (mesh.size() < 2 * config_.mesh_degree || mesh.count(from) != 0) {
    mesh.insert(from);
    return;
  }
  Msg prune;
  prune.kind = Kind::kMeshPrune;
  prune.name = topic;
  host_.send(from, prune);
}

void Broadcast::send_payload(const PeerId& to, const MsgId& id) {
  auto it = cache_.find(id);
  if (it == cache_.end()) return;
  Msg gossip;
  gossip.kind = Kind::kGossip;
  gossip.body = it->second.envelope;
  gossip.round = it->second.hops;
  if (host_.may_forward(to, id.topic)) host_.send(to, gossip);
}

void Broadcast::cache_put(const MsgId& id, const Bytes& bytes, const PeerId& from, std::uint32_t hops,
                          std::uint64_t now_ms) {
  if (cache_.count(id) != 0) return;
  while (cache_.size() >= config_.limits.message_cache_max && !cache_order_.empty()) {
    cache_.erase(cache_order_.front());
    cache_order_.pop_front();
  }
  cache_.emplace(id, Cached{bytes, from, hops, now_ms});
  cache_order_.push_back(id);
}

std::size_t Broadcast::eager_count(const std::string& topic) const { return eager_targets(topic).size(); }

}  // namespace nitro::gossip
