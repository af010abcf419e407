// Broadcast: pub/sub dissemination over the membership's active view.
//
// kPlumtree (Leitão, Pereira, Rodrigues, SRDS 2007 "Epidemic Broadcast Trees"): a new message is
// pushed in full to eager peers and announced by id (IHAVE, batched) to lazy peers. A duplicate
// payload turns its sender lazy (PRUNE); a missing message announced by IHAVE is pulled after
// ihave_timeout (GRAFT, which also turns that link eager again), cycling through announcers with a
// bounded number of attempts. The first plumtree_flood_hops hops from the publisher push to every
// neighbor (see forward()). Eager/lazy state is per topic; all nodes relay every topic, and the
// node delivers a topic only to its subscribers.
// Anti-entropy (kPlumtree): every heartbeat each neighbor gets an IHAVE digest of the ids received
// in the last kMeshHistoryHeartbeats heartbeats (only while there are any), so an eager push lost
// on the only link to a leaf is still pulled (Plumtree alone has no lazy path to a node of degree
// one, nor a second chance when an IHAVE is lost). A new neighbor is also offered the ids cached in
// the last kOfferMs, so a route repaired after a message went by still carries it.
// Per-publisher trees (kPlumtree): one tree per topic makes a far publisher's message climb to the
// tree's centre and down again. A publisher heard kOriginTreeAfter times gets its own tree at each
// node (at most kOriginTreesMax, dropped after kOriginTreeIdleMs without traffic): it starts with
// every neighbor eager, so its first message floods and duplicates prune it to that publisher's
// first-arrival tree; then Plumtree's optimisation (section 3.8) shortens it: an IHAVE showing a
// path at least one hop shorter than the copy we got grafts the announcer (link only, no payload)
// and prunes the parent that gave us the copy. Frames pushed along such a tree carry flag = true,
// and their PRUNE/GRAFT frames name the (origin, topic) in ids. Publishers without a tree use the
// topic tree.
// kFlood and kMesh (gossipsub-like: D-regular mesh per topic, IHAVE/IWANT gossip to D_lazy
// non-mesh peers each heartbeat) are baselines measured in the same simulator.
//
// Load must not make more load: a GRAFT for a payload that was late rather than lost brings a
// duplicate, and a busy node's eager pushes are all late. So the wait before a GRAFT adapts (it
// doubles whenever the eager copy arrives after we pulled, up to kGraftWaitMaxMs, and decays back
// to ihave_timeout_ms while nothing is late), and GRAFTs are paced by a token bucket
// (kGraftsPerSecond, burst kGraftBurst): the pull work per node per second is bounded whatever the
// network does; a pull without a token waits for the next one.
// Every message is a signed crypto::Envelope (origin, per-topic seq, timestamp, topic, payload);
// the signature is verified once, on first receipt, before relaying or delivering. Identity of a
// message: (origin, topic, seq). Per (origin, topic) stream the node keeps the next seq to deliver
// and a bounded hold-back buffer, which gives both per-publisher ordering and duplicate detection
// in bounded memory: a gap is waited for at most reorder_wait_ms, then skipped (counted).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "gossip/rng.h"
#include "gossip/wire.h"
#include "nitro/envelope.h"
#include "nitro/node.h"

namespace nitro::gossip {

class BroadcastHost {
 public:
  virtual ~BroadcastHost() = default;
  virtual void send(const PeerId& to, const Msg& msg) = 0;
  // In order per (origin, topic); `from` is the neighbor that relayed it (self for own messages).
  virtual void deliver(const crypto::Envelope& envelope, const PeerId& from, std::uint32_t hops,
                       std::uint64_t now_ms) = 0;
  // Access control (nitro/auth.h): a verified message the node refuses is neither relayed nor
  // delivered; a neighbor the node may not send a topic to gets no payloads of it.
  virtual bool admit(const crypto::Envelope& envelope) { (void)envelope; return true; }
  virtual bool may_forward(const PeerId& to, const std::string& topic) { (void)to; (void)topic; return true; }
  virtual Rng& rng() = 0;
  virtual NodeStats& stats() = 0;
};

class Broadcast {
 public:
  static constexpr std::size_t kAnnouncersMax = 8;
  static constexpr std::uint32_t kGraftAttemptsMax = 8;
  static constexpr std::size_t kMissingMax = 8192;
  static constexpr std::uint64_t kMeshHistoryHeartbeats = 3;
  static constexpr std::uint64_t kGraftWaitMaxMs = 4000;
  static constexpr std::uint64_t kGraftsPerSecond = 10;
  static constexpr std::uint64_t kGraftBurst = 10;
  static constexpr std::uint64_t kCacheSweepMs = 10000;
  static constexpr std::uint64_t kOfferMs = 10000;  // what a new neighbor is offered (offer_recent)
  static constexpr std::size_t kOriginTreesMax = 64;
  static constexpr std::uint64_t kOriginTreeAfter = 3;
  static constexpr std::uint64_t kOriginTreeIdleMs = 60000;

  Broadcast(PeerId self, const NodeConfig& config, BroadcastHost& host);

  void neighbor_up(const PeerId& peer, std::uint64_t now_ms);
  void neighbor_down(const PeerId& peer);
  // kMesh keeps a mesh per known topic; subscribing makes a topic known before traffic arrives.
  void add_topic(const std::string& topic);
  // Disseminates an envelope this node signed (seq is the next of its stream).
  void originate(const crypto::Envelope& envelope, std::uint64_t now_ms);
  // kDecodeError / kUnauthenticated for a bad payload frame; OK otherwise.
  Status on_frame(const PeerId& from, const Msg& msg, std::uint64_t now_ms);
  void tick(std::uint64_t now_ms);
  std::optional<std::uint64_t> next_deadline() const;

  std::size_t eager_count(const std::string& topic) const;
  std::size_t streams() const { return streams_.size(); }
  std::size_t origin_trees() const { return trees_.size(); }
  std::size_t cached() const { return cache_.size(); }
  std::uint64_t graft_wait_ms() const { return graft_wait_ms_; }
  std::uint64_t late_payloads() const { return late_payloads_; }

 private:
  struct Held {
    crypto::Envelope envelope;
    PeerId from;
    std::uint32_t hops = 0;
  };
  struct Stream {
    std::uint64_t next_seq = 0;  // 0: not known yet (first contact mid-stream)
    std::map<std::uint64_t, Held> held;
    std::uint64_t gap_since_ms = 0;  // when the lowest held message started waiting
    std::uint64_t use = 0;           // LRU stamp
    std::uint64_t heard = 0;         // messages accepted (a busy publisher gets its own tree)
  };
  using StreamKey = std::pair<PeerId, std::string>;
  struct Cached {
    Bytes envelope;
    PeerId from;  // the neighbor whose copy we took (self for our own)
    std::uint32_t hops = 0;
    std::uint64_t at_ms = 0;
  };
  struct Missing {
    std::vector<PeerId> announcers;
    std::vector<PeerId> pulled_from;  // the peers a GRAFT went to, the latest at the back
    std::uint32_t round = 0;
    std::uint32_t attempts = 0;
    std::uint64_t deadline_ms = 0;
  };
  struct LazyQueue {
    std::vector<IdRound> ids;
    std::uint64_t flush_ms = 0;
  };
  struct OriginTree {
    std::set<PeerId> lazy;
    std::uint64_t used_ms = 0;
  };
  struct Recent {
    MsgId id;
    std::uint32_t round = 0;
    std::uint64_t at_ms = 0;
  };

  Status on_gossip(const PeerId& from, const Msg& msg, std::uint64_t now_ms);
  void on_ihave(const PeerId& from, const Msg& msg, std::uint64_t now_ms);
  void on_graft(const PeerId& from, const Msg& msg);
  void on_prune(const PeerId& from, const Msg& msg);
  void on_duplicate(const PeerId& from, const MsgId& id, bool by_origin_tree);
  void shorten(const PeerId& announcer, const IdRound& ir);
  OriginTree* origin_tree(const MsgId& id);
  void plant_tree(const MsgId& id, std::uint64_t now_ms);
  void set_tree_lazy(const MsgId& id, const PeerId& peer, bool lazy);
  void send_tree_link(const PeerId& to, const MsgId& id, Kind kind);
  void sweep_trees(std::uint64_t now_ms);
  void announce(const MsgId& id, std::uint32_t hops, const PeerId& except, const std::set<PeerId>& lazy,
                std::uint64_t now_ms);
  void on_mesh_graft(const PeerId& from, const std::string& topic);
  void accept(const crypto::Envelope& env, const Bytes& bytes, const PeerId& from, std::uint32_t hops,
              std::uint64_t now_ms);
  void forward(const MsgId& id, const Bytes& bytes, std::uint32_t hops, const PeerId& except,
               std::uint64_t now_ms);
  std::vector<PeerId> eager_targets(const std::string& topic) const;
  bool is_lazy(const std::string& topic, const PeerId& peer) const;
  void set_lazy(const std::string& topic, const PeerId& peer, bool lazy);

  bool received(const MsgId& id) const;
  Stream& stream(const PeerId& origin, const std::string& topic);
  void hold(const crypto::Envelope& env, const PeerId& from, std::uint32_t hops, std::uint64_t now_ms);
  void release(Stream& s, std::uint64_t now_ms);
  void cache_put(const MsgId& id, const Bytes& bytes, const PeerId& from, std::uint32_t hops, std::uint64_t now_ms);
  bool came_by_flood(const MsgId& id) const;
  std::uint32_t flood_hops() const { return config_.plumtree_flood_hops; }
  void send_payload(const PeerId& to, const MsgId& id);
  void offer_recent(const PeerId& peer, std::uint64_t now_ms);

  void note_arrival(const MsgId& id, const PeerId& from, std::uint64_t now_ms);
  bool take_graft_token(std::uint64_t now_ms);
  void tick_missing(std::uint64_t now_ms);
  void tick_lazy(std::uint64_t now_ms, bool force);
  void tick_gaps(std::uint64_t now_ms);
  void tick_mesh(std::uint64_t now_ms);
  void mesh_gossip(const std::string& topic, std::uint64_t now_ms);
  void tick_digest(std::uint64_t now_ms);
  void prune_recent(std::uint64_t now_ms);

  PeerId self_;
  const NodeConfig& config_;
  BroadcastHost& host_;
  std::set<PeerId> neighbors_;
  std::map<std::string, std::set<PeerId>> lazy_;  // kPlumtree: lazy peers per topic
  std::map<std::string, std::set<PeerId>> mesh_;  // kMesh: mesh peers per topic
  std::map<StreamKey, OriginTree> trees_;         // kPlumtree: busy publishers' own trees
  std::map<StreamKey, Stream> streams_;
  std::map<std::uint64_t, StreamKey> streams_by_use_;
  std::uint64_t use_clock_ = 0;
  std::map<MsgId, Cached> cache_;
  std::deque<MsgId> cache_order_;
  std::map<MsgId, Missing> missing_;
  std::map<PeerId, LazyQueue> lazy_queues_;
  std::map<std::string, std::deque<Recent>> recent_;  // kMesh: ids for heartbeat gossip
  std::uint64_t next_heartbeat_ms_ = 0;  // kMesh heartbeat; kPlumtree digest
  std::set<StreamKey> waiting_;  // streams holding messages behind a gap
  std::uint64_t graft_wait_ms_ = 0;      // adaptive IHAVE -> GRAFT wait (0: not yet set)
  std::uint64_t graft_wait_at_ms_ = 0;   // when it last grew (decay starts from here)
  std::uint64_t graft_tokens_ = kGraftBurst;
  std::uint64_t graft_tokens_at_ms_ = 0;
  std::uint64_t late_payloads_ = 0;      // eager copies that came after we had pulled them
};

}  // namespace nitro::gossip
