// Service registry (instances with TTLs) and its advertisement codec. Ordered maps throughout,
// so every listing is sorted by peer and deterministic.

#include "nitro/codec.h"
#include "nitro/rpc.h"

namespace nitro::rpc {

Status Registry::upsert(const std::string& service, const PeerKey& peer, const Metadata& metadata,
                        std::uint64_t ttl_ms, std::int64_t now_ms) {
  if (service.empty() || peer.empty()) return invalid_argument("registry: empty service or peer");
  if (ttl_ms > (std::uint64_t{1} << 52)) return invalid_argument("registry: ttl_ms out of range");
  auto it = table_.find(service);
  if (it == table_.end()) {
    if (table_.size() >= kServicesMax) return resource_exhausted("registry: too many services");
    it = table_.emplace(service, std::map<PeerKey, Instance>{}).first;
  }
  auto& instances = it->second;
  if (!instances.count(peer) && instances.size() >= kInstancesPerServiceMax) {
    return resource_exhausted("registry: too many instances of " + service);
  }
  std::int64_t expires = ttl_ms == 0 ? kNoDeadline : now_ms + static_cast<std::int64_t>(ttl_ms);
  instances[peer] = Instance{peer, metadata, expires};
  return {};
}

Status Registry::apply(const Advertisement& ad, std::int64_t now_ms) {
  if (ad.ttl_ms == 0) return invalid_argument("registry: an advertisement needs a ttl");
  for (const auto& s : ad.services) NITRO_TRY(upsert(s.name, ad.peer, s.metadata, ad.ttl_ms, now_ms));
  return {};
}

void Registry::remove(const std::string& service, const PeerKey& peer) {
  auto it = table_.find(service);
  if (it == table_.end()) return;
  it->second.erase(peer);
  if (it->second.empty()) table_.erase(it);
}

void Registry::remove_peer(const PeerKey& peer) {
  for (auto it = table_.begin(); it != table_.end();) {
    it->second.erase(peer);
    it = it->second.empty() ? table_.erase(it) : std::next(it);
  }
}

std::vector<Instance> Registry::instances(const std::string& service, std::int64_t now_ms) const {
  std::vector<Instance> out;
  for_live(service, now_ms, [&](const PeerKey&, const Instance& inst) { out.push_back(inst); });
  return out;
}

void Registry::live_peers(const std::string& service, std::int64_t now_ms, std::vector<const PeerKey*>& out) const {
  out.clear();
  for_live(service, now_ms, [&](const PeerKey& peer, const Instance&) { out.push_back(&peer); });
}

std::size_t Registry::count(const std::string& service, std::int64_t now_ms) const {
  std::size_t n = 0;
  for_live(service, now_ms, [&](const PeerKey&, const Instance&) { ++n; });
  return n;
}

std::vector<std::string> Registry::services(std::int64_t now_ms) const {
  std::vector<std::string> out;
  for (const auto& [name, instances] : table_) {
    bool live = std::any_of(instances.begin(), instances.end(),
                            [now_ms](const auto& kv) { return kv.second.expires_at_ms > now_ms; });
    if (live) out.push_back(name);
  }
  return out;
}

void Registry::expire(std::int64_t now_ms) {
  for (auto it = table_.begin(); it != table_.end();) {
    auto& instances = it->second;
    for (auto jt = instances.begin(); jt != instances.end();) {
      jt = jt->second.expires_at_ms <= now_ms ? instances.erase(jt) : std::next(jt);
    }
    it = instances.empty() ? table_.erase(it) : std::next(it);
  }
}

// Advertisement wire form: [1, peer(bin), ttl_ms, [[name, {metadata}], ...]].
Bytes encode_advertisement(const Advertisement& ad) {
  Array services;
  for (const auto& s : ad.services) {
    Map md;
    for (const auto& [k, v] : s.metadata) md.emplace_back(Value{k}, Value{v});
    services.push_back(Value{Array{Value{s.name}, Value{std::move(md)}}});
  }
  Bytes peer(ad.peer.begin(), ad.peer.end());
  return codec::encode(Value{Array{Value{std::uint64_t{kWireVersion}}, Value{std::move(peer)},
                                   Value{ad.ttl_ms}, Value{std::move(services)}}});
}

namespace {

Result<Metadata> read_metadata(const Value& v, const FrameLimits& limits) {
  if (!v.is<Map>() || v.as<Map>().size() > limits.metadata_entries_max) return decode_error("advertisement: bad metadata");
  Metadata md;
  for (const auto& [k, val] : v.as<Map>()) {
    if (!k.is<std::string>() || !val.is<std::string>() || k.as<std::string>().size() > limits.name_bytes_max ||
        val.as<std::string>().size() > limits.metadata_value_bytes_max) {
      return decode_error("advertisement: bad metadata entry");
    }
    md[k.as<std::string>()] = val.as<std::string>();
  }
  return md;
}

}  // namespace

Result<Advertisement> decode_advertisement(std::span<const std::uint8_t> bytes, const FrameLimits& limits) {
  codec::Limits cl;
  cl.frame_bytes_max = limits.frame_bytes_max;
  cl.depth_max = 8;
  cl.collection_len_max = 4096;
  auto decoded = codec::decode(bytes, cl);
  if (!decoded.ok()) return decoded.status();
  const Value& v = *decoded;
  if (!v.is<Array>() || v.as<Array>().size() < 4) return decode_error("advertisement: not a 4-array");
  const Array& a = v.as<Array>();
  if (!a[0].is<std::int64_t>() || a[0].as<std::int64_t>() != kWireVersion) return decode_error("advertisement: version");
  if (!a[1].is<Bytes>() || a[1].as<Bytes>().empty() || a[1].as<Bytes>().size() > limits.name_bytes_max) {
    return decode_error("advertisement: bad peer");
  }
  if (!a[2].is<std::int64_t>() || a[2].as<std::int64_t>() <= 0 || a[2].as<std::int64_t>() > (std::int64_t{1} << 52)) {
    return decode_error("advertisement: bad ttl");
  }
  if (!a[3].is<Array>() || a[3].as<Array>().size() > Registry::kServicesMax) return decode_error("advertisement: bad services");
  Advertisement ad;
  ad.peer.assign(a[1].as<Bytes>().begin(), a[1].as<Bytes>().end());
  ad.ttl_ms = static_cast<std::uint64_t>(a[2].as<std::int64_t>());
  for (const auto& s : a[3].as<Array>()) {
    if (!s.is<Array>() || s.as<Array>().size() < 2 || !s.as<Array>()[0].is<std::string>()) {
      return decode_error("advertisement: bad service entry");
    }
    const auto& name = s.as<Array>()[0].as<std::string>();
    if (name.empty() || name.size() > limits.name_bytes_max) return decode_error("advertisement: bad service name");
    auto md = read_metadata(s.as<Array>()[1], limits);
    if (!md.ok()) return md.status();
    ad.services.push_back({name, std::move(*md)});
  }
  return ad;
}

}  // namespace nitro::rpc
