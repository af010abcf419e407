// msgpack frames of the DKG and beacon engines on the nitro codec.
#include "bls/wire.h"

#include <type_traits>

#include "nitro/codec.h"

namespace nitro::bls::wire {
namespace {

Value bytes_value(const Bytes& b) { return Value(b); }

Array bytes_array(const std::vector<Bytes>& items) {
  Array out;
  for (const auto& b : items) out.push_back(bytes_value(b));
  return out;
}

Result<std::uint64_t> get_u64(const Value& v) {
  if (v.is<std::int64_t>() && v.as<std::int64_t>() >= 0) return static_cast<std::uint64_t>(v.as<std::int64_t>());
  if (v.is<std::uint64_t>()) return v.as<std::uint64_t>();
  return decode_error("expected an unsigned integer");
}

Result<threshold::Index> get_index(const Value& v) {
  auto u = get_u64(v);
  if (!u.ok()) return u.status();
  if (*u == 0 || *u > threshold::kMembersMax) return decode_error("member index out of range");
  return static_cast<threshold::Index>(*u);
}

Result<Bytes> get_bytes(const Value& v, std::size_t max) {
  if (!v.is<Bytes>()) return decode_error("expected bytes");
  if (v.as<Bytes>().size() > max) return decode_error("bytes too long");
  return v.as<Bytes>();
}

Result<DkgDeal> decode_deal(const Value& commitments, const Value& sig) {
  if (!commitments.is<Array>()) return decode_error("deal: bad shape");
  DkgDeal d;
  for (const auto& c : commitments.as<Array>()) {
    auto b = get_bytes(c, kG2Bytes);
    if (!b.ok()) return b.status();
    d.commitments.push_back(*b);
  }
  auto s = get_bytes(sig, kDealSigBytesMax);
  if (!s.ok()) return s.status();
  d.sig = *s;
  return d;
}

Result<Chain> decode_chain(const Value& v) {
  if (!v.is<Array>()) return decode_error("relay chain: bad shape");
  Chain chain;
  for (const auto& item : v.as<Array>()) {
    if (!item.is<Array>() || item.as<Array>().size() != 2) return decode_error("relay chain: bad entry");
    auto signer = get_index(item.as<Array>()[0]);
    if (!signer.ok()) return signer.status();
    auto sig = get_bytes(item.as<Array>()[1], kDealSigBytesMax);
    if (!sig.ok()) return sig.status();
    chain.push_back(RelaySig{*signer, *sig});
  }
  return chain;
}

Array chain_array(const Chain& chain) {
  Array out;
  for (const auto& r : chain) out.push_back(Value(Array{Value(std::uint64_t{r.signer}), bytes_value(r.sig)}));
  return out;
}

// Complaints and justifications share a shape: [kind, index, index, bytes, chain].
struct IndexedItem {
  threshold::Index first = 0, second = 0;
  Bytes bytes;
  Chain chain;
};
Result<IndexedItem> decode_indexed_item(const Array& a, std::size_t bytes_max) {
  if (a.size() != 5) return decode_error("dkg item: bad shape");
  auto first = get_index(a[1]), second = get_index(a[2]);
  if (!first.ok() || !second.ok()) return decode_error("dkg item: bad member index");
  auto bytes = get_bytes(a[3], bytes_max);
  if (!bytes.ok()) return bytes.status();
  auto chain = decode_chain(a[4]);
  if (!chain.ok()) return chain.status();
  return IndexedItem{*first, *second, *bytes, *chain};
}

Result<Message> decode_dkg(std::int64_t kind, const Array& a) {
  if (kind == kDkgDeal) {
    if (a.size() != 3) return decode_error("deal: bad shape");
    auto d = decode_deal(a[1], a[2]);
    if (!d.ok()) return d.status();
    return Message{*d};
  }
  if (kind == kDkgForward) {
    if (a.size() != 5) return decode_error("forward: bad shape");
    auto dealer = get_index(a[1]);
    if (!dealer.ok()) return dealer.status();
    auto d = decode_deal(a[2], a[3]);
    if (!d.ok()) return d.status();
    auto chain = decode_chain(a[4]);
    if (!chain.ok()) return chain.status();
    return Message{DkgForward{*dealer, *d, *chain}};
  }
  if (kind == kDkgShare) {
    if (a.size() != 2) return decode_error("share: bad shape");
    auto b = get_bytes(a[1], kSecretKeyBytes);
    if (!b.ok()) return b.status();
    return Message{DkgShare{*b}};
  }
  if (kind == kDkgComplaint) {
    auto c = decode_indexed_item(a, kDealSigBytesMax);
    if (!c.ok()) return c.status();
    return Message{DkgComplaint{c->first, c->second, c->bytes, c->chain}};
  }
  auto j = decode_indexed_item(a, kSecretKeyBytes);
  if (!j.ok()) return j.status();
  return Message{DkgJustification{j->first, j->second, j->bytes, j->chain}};
}

Result<Message> decode_beacon(std::int64_t kind, const Array& a) {
  if (kind == kPartial) {
    if (a.size() != 3) return decode_error("partial: bad shape");
    auto r = get_u64(a[1]);
    if (!r.ok()) return r.status();
    auto s = get_bytes(a[2], kG2Bytes);
    if (!s.ok()) return s.status();
    return Message{Partial{*r, *s}};
  }
  if (kind == kSyncRequest) {
    if (a.size() != 3) return decode_error("sync request: bad shape");
    auto f = get_u64(a[1]), l = get_u64(a[2]);
    if (!f.ok() || !l.ok()) return decode_error("sync request: bad rounds");
    return Message{SyncRequest{*f, *l}};
  }
  if (a.size() != 2 || !a[1].is<Array>()) return decode_error("sync response: bad shape");
  const auto& items = a[1].as<Array>();
  if (items.size() > kSyncEntriesMax) return decode_error("sync response: too many rounds");
  SyncResponse resp;
  for (const auto& item : items) {
    if (!item.is<Array>()) return decode_error("sync response: bad entry");
    const auto& e = item.as<Array>();
    if (e.size() != 2 && e.size() != 3) return decode_error("sync response: bad entry");
    auto r = get_u64(e[0]);
    auto s = get_bytes(e[1], kG2Bytes);
    if (!r.ok() || !s.ok()) return decode_error("sync response: bad entry");
    SyncEntry entry{*r, *s, {}};
    if (e.size() == 3) {
      auto prev = get_bytes(e[2], kG2Bytes);
      if (!prev.ok()) return prev.status();
      entry.prev = *prev;
    }
    resp.rounds.push_back(std::move(entry));
  }
  return Message{resp};
}

}  // namespace

Bytes encode(const Message& msg) {
  Array a = std::visit(
      [](const auto& m) -> Array {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, DkgDeal>) return {Value(kDkgDeal), Value(bytes_array(m.commitments)), bytes_value(m.sig)};
        else if constexpr (std::is_same_v<T, DkgShare>) return {Value(kDkgShare), bytes_value(m.share)};
        else if constexpr (std::is_same_v<T, DkgComplaint>) {
          return {Value(kDkgComplaint), Value(std::uint64_t{m.complainer}), Value(std::uint64_t{m.dealer}),
                  bytes_value(m.sig), Value(chain_array(m.chain))};
        } else if constexpr (std::is_same_v<T, DkgJustification>) {
          return {Value(kDkgJustification), Value(std::uint64_t{m.dealer}), Value(std::uint64_t{m.complainer}),
                  bytes_value(m.share), Value(chain_array(m.chain))};
        } else if constexpr (std::is_same_v<T, DkgForward>) {
          return {Value(kDkgForward), Value(std::uint64_t{m.dealer}), Value(bytes_array(m.deal.commitments)),
                  bytes_value(m.deal.sig), Value(chain_array(m.chain))};
        } else if constexpr (std::is_same_v<T, Partial>) return {Value(kPartial), Value(m.round), bytes_value(m.sig)};
        else if constexpr (std::is_same_v<T, SyncRequest>) return {Value(kSyncRequest), Value(m.first), Value(m.last)};
        else {
          Array items;
          for (const auto& e : m.rounds) {
            Array item{Value(e.round), bytes_value(e.sig)};
            if (!e.prev.empty()) item.push_back(bytes_value(e.prev));
            items.push_back(Value(std::move(item)));
          }
          return {Value(kSyncResponse), Value(items)};
        }
      },
      msg);
  return codec::encode(Value(a));
}

Result<Message> decode(ByteSpan bytes) {
  codec::Limits limits;
  limits.frame_bytes_max = kFrameBytesMax;
  limits.depth_max = 4;
  limits.collection_len_max = threshold::kMembersMax;
  limits.string_bytes_max = kG2Bytes;
  auto v = codec::decode(bytes, limits);
  if (!v.ok()) return v.status();
  if (!v->is<Array>() || v->as<Array>().empty()) return decode_error("bls frame: not a non-empty array");
  const auto& a = v->as<Array>();
  if (!a[0].is<std::int64_t>()) return decode_error("bls frame: bad kind");
  auto kind = a[0].as<std::int64_t>();
  if (kind >= kDkgDeal && kind <= kDkgForward) return decode_dkg(kind, a);
  if (kind >= kPartial && kind <= kSyncResponse) return decode_beacon(kind, a);
  return decode_error("bls frame: unknown kind");
}

}  // namespace nitro::bls::wire
