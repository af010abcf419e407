#include "gossip/wire.h"

#include "nitro/codec.h"

namespace nitro::gossip {
namespace {

constexpr std::size_t kSlots = 11;

Value peer_value(const PeerRef& ref) {
  const auto& key = ref.id.bytes();
  return Value{Array{Value{Bytes(key.begin(), key.end())}, Value{ref.address}}};
}

bool known_kind(std::int64_t k) {
  switch (static_cast<Kind>(k)) {
    case Kind::kHello: case Kind::kJoin: case Kind::kForwardJoin: case Kind::kNeighbor:
    case Kind::kNeighborReply: case Kind::kDisconnect: case Kind::kShuffle: case Kind::kShuffleReply:
    case Kind::kPing: case Kind::kAck: case Kind::kPingReq: case Kind::kGossip: case Kind::kIHave:
    case Kind::kGraft: case Kind::kPrune: case Kind::kIWant: case Kind::kMeshGraft:
    case Kind::kMeshPrune: case Kind::kDirect:
      return k >= 0 && k < 256;
  }
  return false;
}

bool get_uint(const Value& v, std::uint64_t max, std::uint64_t& out) {
  if (!v.is<std::int64_t>()) return false;  // codec stores every uint64 <= INT64_MAX as int64
  const std::int64_t i = v.as<std::int64_t>();
  if (i < 0 || static_cast<std::uint64_t>(i) > max) return false;
  out = static_cast<std::uint64_t>(i);
  return true;
}

bool get_peer_id(const Value& v, PeerId& out) {
  if (!v.is<Bytes>() || v.as<Bytes>().size() != crypto::kPeerIdBytes) return false;
  std::array<std::uint8_t, crypto::kPeerIdBytes> key{};
  std::copy(v.as<Bytes>().begin(), v.as<Bytes>().end(), key.begin());
  out = PeerId(key);
  return true;
}

bool get_peer(const Value& v, const WireLimits& limits, PeerRef& out) {
  if (!v.is<Array>() || v.as<Array>().size() != 2) return false;
  const auto& a = v.as<Array>();
  if (!get_peer_id(a[0], out.id)) return false;
  if (!a[1].is<std::string>() || a[1].as<std::string>().size() > limits.address_bytes_max) return false;
  out.address = a[1].as<std::string>();
  return true;
}

bool get_peers(const Value& v, const WireLimits& limits, std::vector<PeerRef>& out) {
  if (!v.is<Array>() || v.as<Array>().size() > limits.peers_max) return false;
  out.resize(v.as<Array>().size());
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (!get_peer(v.as<Array>()[i], limits, out[i])) return false;
  }
  return true;
}

bool get_id(const Value& v, const WireLimits& limits, IdRound& out) {
  if (!v.is<Array>() || v.as<Array>().size() != 4) return false;
  const auto& a = v.as<Array>();
  if (!get_peer_id(a[0], out.id.origin)) return false;
  if (!a[1].is<std::string>() || a[1].as<std::string>().size() > limits.name_bytes_max) return false;
  out.id.topic = a[1].as<std::string>();
  std::uint64_t round = 0;
  if (!get_uint(a[2], INT64_MAX, out.id.seq) || !get_uint(a[3], UINT32_MAX, round)) return false;
  out.round = static_cast<std::uint32_t>(round);
  return true;
}

bool get_ids(const Value& v, const WireLimits& limits, std::vector<IdRound>& out) {
  if (!v.is<Array>() || v.as<Array>().size() > limits.ids_max) return false;
  out.resize(v.as<Array>().size());
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (!get_id(v.as<Array>()[i], limits, out[i])) return false;
  }
  return true;
}

bool get_fields(const Array& a, const WireLimits& limits, Msg& m) {
  std::uint64_t u = 0;
  if (!get_uint(a[1], 255, u) || !known_kind(static_cast<std::int64_t>(u))) return false;
  m.kind = static_cast<Kind>(u);
  m.has_peer = !a[2].is_nil();
  if (m.has_peer && !get_peer(a[2], limits, m.peer)) return false;
  if (!get_uint(a[3], limits.ttl_max, u)) return false;
  m.ttl = static_cast<std::uint32_t>(u);
  if (!a[4].is<bool>()) return false;
  m.flag = a[4].as<bool>();
  if (!get_uint(a[5], INT64_MAX, m.nonce)) return false;
  if (!get_peers(a[6], limits, m.peers)) return false;
  if (!a[7].is<Bytes>()) return false;
  m.body = a[7].as<Bytes>();
  if (!get_uint(a[8], UINT32_MAX, u)) return false;
  m.round = static_cast<std::uint32_t>(u);
  if (!get_ids(a[9], limits, m.ids)) return false;
  if (!a[10].is<std::string>() || a[10].as<std::string>().size() > limits.name_bytes_max) return false;
  m.name = a[10].as<std::string>();
  return true;
}

}  // namespace

Bytes encode(const Msg& m) {
  Array peers;
  peers.reserve(m.peers.size());
  for (const auto& p : m.peers) peers.push_back(peer_value(p));
  Array ids;
  ids.reserve(m.ids.size());
  for (const auto& i : m.ids) {
    const auto& key = i.id.origin.bytes();
    ids.push_back(Value{Array{Value{Bytes(key.begin(), key.end())}, Value{i.id.topic},
                              Value{i.id.seq}, Value{static_cast<std::uint64_t>(i.round)}}});
  }
  Array a{Value{kWireVersion}, Value{static_cast<std::uint64_t>(m.kind)},
          m.has_peer ? peer_value(m.peer) : Value{}, Value{static_cast<std::uint64_t>(m.ttl)},
          Value{m.flag}, Value{m.nonce}, Value{std::move(peers)}, Value{m.body},
          Value{static_cast<std::uint64_t>(m.round)}, Value{std::move(ids)}, Value{m.name}};
  return codec::encode(Value{std::move(a)});
}

Result<Msg> decode(std::span<const std::uint8_t> bytes, const WireLimits& limits) {
  codec::Limits codec_limits;
  codec_limits.frame_bytes_max = limits.frame_bytes_max;
  codec_limits.depth_max = 4;
  codec_limits.collection_len_max = limits.ids_max > limits.peers_max ? limits.ids_max : limits.peers_max;
  codec_limits.string_bytes_max = limits.frame_bytes_max;
  auto value = codec::decode(bytes, codec_limits);
  if (!value.ok()) return value.status();
  if (!value->is<Array>() || value->as<Array>().size() != kSlots) return decode_error("gossip frame: not an 11-slot array");
  const Array& a = value->as<Array>();
  std::uint64_t version = 0;
  if (!get_uint(a[0], UINT32_MAX, version) || version != kWireVersion) return decode_error("gossip frame: unknown version");
  Msg m;
  if (!get_fields(a, limits, m)) return decode_error("gossip frame: malformed slot");
  return m;
}

}  // namespace nitro::gossip
