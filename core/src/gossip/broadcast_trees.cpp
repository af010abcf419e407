// Broadcast: busy publishers' own trees (creation, pruning, Plumtree's shortcut optimisation) and
// the stream heads that start a node's streams when it gets its first neighbor.
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

// The heads of our most recently used streams: a node without state for one starts it there.
void Broadcast::send_heads(const PeerId& to) {
  Msg heads;
  heads.kind = Kind::kHeads;
  for (auto it = streams_by_use_.rbegin(); it != streams_by_use_.rend() && heads.ids.size() < kHeadsMax; ++it) {
    const auto& [origin, topic] = it->second;
    auto s = streams_.find(it->second);
    if (s == streams_.end() || s->second.next_seq == 0 || origin == to || !host_.may_forward(to, topic)) continue;
    heads.ids.push_back(IdRound{MsgId{origin, topic, s->second.next_seq}, 0});
  }
  if (!heads.ids.empty()) host_.send(to, heads);
}

// An empty HEADS asks for ours (answered once the asker is our neighbor); an answer counts only
// from the first neighbor we asked.
void Broadcast::on_heads(const PeerId& from, const Msg& msg, std::uint64_t now_ms) {
  if (msg.ids.empty()) {
    // Heads from before the asker is our neighbor would miss the messages we relay until then.
    if (neighbors_.count(from) != 0) {
      send_heads(from);
    } else {
      if (heads_asked_.size() >= kHeadsAskedMax) heads_asked_.clear();  // askers that never joined
      heads_asked_.insert(from);
    }
    return;
  }
  if (heads_from_ != from) return;
  heads_from_.reset();
  start_streams(msg, now_ms);
}

// A stream we know nothing of starts at the neighbor's head: messages from there on are delivered
// in order at once, with no hold for the ones before (the neighbor delivered those before we had
// any link to the overlay). Held messages below the head (pulled from a digest of recent ids) are
// dropped: the ones between them and the head are not owed, and delivering around those gaps
// would break the promise that a stream has none.
void Broadcast::start_streams(const Msg& heads, std::uint64_t now_ms) {
  for (const auto& ir : heads.ids) {
    if (ir.id.seq == 0 || ir.id.origin == self_) continue;
    const StreamKey key{ir.id.origin, ir.id.topic};
    auto known = streams_.find(key);
    if (known != streams_.end() && known->second.next_seq != 0) continue;
    Stream& s = stream(ir.id.origin, ir.id.topic);
    s.held.erase(s.held.begin(), s.held.lower_bound(ir.id.seq));
    s.next_seq = ir.id.seq;
    release(s, now_ms);
    if (s.held.empty()) waiting_.erase(key);
  }
}

}  // namespace nitro::gossip
