// Broadcast: busy publishers' own trees (creation, pruning, Plumtree's shortcut optimisation).
#include <algorithm>

#include "gossip/broadcast.h"

namespace nitro::gossip {

Broadcast::OriginTree* Broadcast::origin_tree(const MsgId& id) {
  auto it = trees_.find(StreamKey{id.origin, id.topic});
  return it == trees_.end() ? nullptr : &it->second;
}

// Called for every accepted message: keeps the publisher's tree alive, or plants one once the
// publisher is busy. A new tree has every neighbor eager (its first message floods once), so the
// duplicates prune it to that publisher's first-arrival tree.
void Broadcast::plant_tree(const MsgId& id, std::uint64_t now_ms) {
  if (config_.mode != BroadcastMode::kPlumtree) return;
  const StreamKey key{id.origin, id.topic};
  if (auto tree = trees_.find(key); tree != trees_.end()) {
    tree->second.used_ms = now_ms;
    return;
  }
  auto s = streams_.find(key);
  if (s == streams_.end() || s->second.heard < kOriginTreeAfter || trees_.size() >= kOriginTreesMax) return;
  trees_.emplace(key, OriginTree{{}, now_ms});
}

void Broadcast::sweep_trees(std::uint64_t now_ms) {
  for (auto it = trees_.begin(); it != trees_.end();) {
    it = it->second.used_ms + kOriginTreeIdleMs <= now_ms ? trees_.erase(it) : std::next(it);
  }
}

void Broadcast::set_tree_lazy(const MsgId& id, const PeerId& peer, bool lazy) {
  OriginTree* tree = origin_tree(id);
  if (!tree) return;
  if (!lazy) {
    tree->lazy.erase(peer);
  } else if (neighbors_.count(peer) != 0) {
    tree->lazy.insert(peer);
  }
}

// PRUNE, or GRAFT of the link only, for the tree of id's (origin, topic).
void Broadcast::send_tree_link(const PeerId& to, const MsgId& id, Kind kind) {
  Msg m;
  m.kind = kind;
  m.name = id.topic;
  m.flag = kind == Kind::kGraft;
  m.ids.push_back(IdRound{MsgId{id.origin, id.topic, 0}, 0});
  if (kind == Kind::kPrune) host_.stats().prunes_sent++;
  host_.send(to, m);
}

// Plumtree's optimisation: an announcer whose path is at least one hop shorter than the copy we
// took becomes our eager link for this publisher, and the link that brought the copy turns lazy.
// Hop counts only fall, so the tree settles (towards the publisher's shortest-path tree).
void Broadcast::shorten(const PeerId& announcer, const IdRound& ir) {
  OriginTree* tree = origin_tree(ir.id);
  auto c = cache_.find(ir.id);
  if (!tree || c == cache_.end() || neighbors_.count(announcer) == 0) return;
  Cached& got = c->second;
  if (announcer == got.from || ir.round + 2 > got.hops) return;
  tree->lazy.erase(announcer);
  send_tree_link(announcer, ir.id, Kind::kGraft);
  if (got.from != self_ && neighbors_.count(got.from) != 0) {
    tree->lazy.insert(got.from);
    send_tree_link(got.from, ir.id, Kind::kPrune);
  }
  got.from = announcer;
  got.hops = ir.round + 1;
}

}  // namespace nitro::gossip
