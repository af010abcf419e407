// Gossip wire frames: what travels inside a secure link between two nodes (membership, pub/sub,
// channel messages). One msgpack array per frame, the same eleven slots for every kind:
//   [version=1, kind, peer, ttl, flag, nonce, peers, body, round, ids, name]
// where peer = nil | [id bin32, address str], peers = [peer...], ids = [[origin bin32, topic str,
// seq uint, round uint]...]. Unused slots hold their zero value. Decoding is total and bounded by
// WireLimits (checked by the msgpack codec before allocating, then per slot).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "nitro/identity.h"
#include "nitro/node.h"
#include "nitro/status.h"
#include "nitro/value.h"

namespace nitro::gossip {

inline constexpr std::uint64_t kWireVersion = 1;

enum class Kind : std::uint8_t {
  kHello = 1,          // name = sender's listen address
  kJoin = 2,           // flag = rejoin (contact adds us without forwarding the join)
  kForwardJoin = 3,    // peer = the joining node, ttl = remaining walk
  kNeighbor = 4,       // flag = high priority (must accept)
  kNeighborReply = 5,  // flag = accepted
  kDisconnect = 6,     // flag = sender stays alive (keep it in the passive view)
  kShuffle = 7,        // peer = origin, ttl, peers = sample
  kShuffleReply = 8,   // peers = sample
  kPing = 9,           // nonce
  kAck = 10,           // nonce
  kPingReq = 11,       // peer = target, nonce
  kGossip = 20,        // body = signed envelope, round = hops so far, flag = pushed along the origin's own tree
  kIHave = 21,         // ids
  kGraft = 22,         // ids (Plumtree: also makes the link eager for those topics; flag = link only, no payload)
  kPrune = 23,         // name = topic; ids (seq 0) = prune only those (origin, topic) trees
  kIWant = 24,         // ids (kMesh)
  kMeshGraft = 25,     // name = topic (kMesh)
  kMeshPrune = 26,     // name = topic (kMesh)
  kDirect = 40,        // name = channel, body = bytes
};

struct PeerRef {
  PeerId id;
  Address address;
  friend bool operator==(const PeerRef& a, const PeerRef& b) { return a.id == b.id && a.address == b.address; }
};

struct MsgId {
  PeerId origin;
  std::string topic;
  std::uint64_t seq = 0;
  friend bool operator==(const MsgId& a, const MsgId& b) {
    return a.seq == b.seq && a.origin == b.origin && a.topic == b.topic;
  }
  friend bool operator<(const MsgId& a, const MsgId& b) {
    if (a.origin != b.origin) return a.origin < b.origin;
    if (a.seq != b.seq) return a.seq < b.seq;
    return a.topic < b.topic;
  }
};

struct IdRound {
  MsgId id;
  std::uint32_t round = 0;
};

struct Msg {
  Kind kind = Kind::kPing;
  PeerRef peer;
  bool has_peer = false;
  std::uint32_t ttl = 0;
  bool flag = false;
  std::uint64_t nonce = 0;
  std::vector<PeerRef> peers;
  Bytes body;
  std::uint32_t round = 0;
  std::vector<IdRound> ids;
  std::string name;
};

struct WireLimits {
  std::size_t frame_bytes_max = 1u << 20;
  std::size_t peers_max = 64;
  std::size_t ids_max = 1024;
  std::size_t address_bytes_max = 256;
  std::size_t name_bytes_max = 256;
  std::uint32_t ttl_max = 16;
};

Bytes encode(const Msg& msg);
// kDecodeError for anything malformed, oversize, of an unknown kind or version.
Result<Msg> decode(std::span<const std::uint8_t> bytes, const WireLimits& limits = {});

}  // namespace nitro::gossip
