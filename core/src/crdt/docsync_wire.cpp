// The doc-sync channel's messages: msgpack maps with a fixed key order (see nitro/docsync.h).
// Decoding is total: the codec bounds sizes and depth, then every field is checked for type and
// range before a SyncMessage is returned.
#include "nitro/codec.h"
#include "nitro/docsync.h"

namespace nitro::crdt {
namespace {

constexpr std::size_t kMessageBytesMax = kPartBytes + 4096;  // one part plus its fields

Value str(const char* s) { return Value{std::string(s)}; }

const Bytes* bin(const Value& m, const char* key) {
  const Value* v = m.find(key);
  return v && v->is<Bytes>() ? &v->as<Bytes>() : nullptr;
}

const std::string* text(const Value& m, const char* key) {
  const Value* v = m.find(key);
  return v && v->is<std::string>() ? &v->as<std::string>() : nullptr;
}

std::optional<std::uint64_t> uint(const Value& m, const char* key) {
  const Value* v = m.find(key);
  if (v && v->is<std::int64_t>() && v->as<std::int64_t>() >= 0) return static_cast<std::uint64_t>(v->as<std::int64_t>());
  return std::nullopt;
}

Status read_vector(const Value& m, SyncMessage& out) {
  const Bytes* v = bin(m, "v");
  const Value* a = m.find("a");
  if (!v || !a || !a->is<bool>()) return decode_error("doc.sync: a vector message needs v (bin) and a (bool)");
  out.bytes = *v;
  out.ask_back = a->as<bool>();
  if (const Value* x = m.find("x")) {
    if (!x->is<Bytes>() || x->as<Bytes>().size() != kDeletesDigestBytes) return decode_error("doc.sync: x is a 16-byte digest");
    out.deletes = x->as<Bytes>();
  }
  const Value* w = m.find("w");
  if (!w) return {};
  if (!w->is<nitro::Array>() || w->as<nitro::Array>().size() > kWritersMax) return decode_error("doc.sync: w is an array of keys");
  for (const Value& k : w->as<nitro::Array>()) {
    if (!k.is<Bytes>() || k.as<Bytes>().size() != 32) return decode_error("doc.sync: a writer key is 32 bytes");
    out.writers.push_back(k.as<Bytes>());
  }
  return {};
}

constexpr std::size_t kTokenRefBytes = 64;  // a token id in hex

Status read_token(const Value& m, std::string& out) {
  const Value* t = m.find("t");
  if (!t) return {};
  if (!t->is<std::string>() || t->as<std::string>().size() != kTokenRefBytes) return decode_error("doc.sync: t is a token id (64 hex digits)");
  out = t->as<std::string>();
  return {};
}

Status read_part(const Value& m, SyncMessage& out) {
  auto id = uint(m, "id"), i = uint(m, "i"), n = uint(m, "n");
  const Bytes* b = bin(m, "b");
  if (!id || !i || !n || !b) return decode_error("doc.sync: a part needs id, i, n and b");
  if (*n < 2 || *n > kPartsMax || *i >= *n || b->size() > kPartBytes) return decode_error("doc.sync: part out of range");
  out.part_id = *id;
  out.part_index = static_cast<std::uint32_t>(*i);
  out.part_count = static_cast<std::uint32_t>(*n);
  out.bytes = *b;
  return {};
}

}  // namespace

std::string doc_topic(const std::string& name) { return "doc/" + name; }

Bytes encode_sync_message(const SyncMessage& m) {
  nitro::Map map;
  switch (m.kind) {
    case SyncMessage::Kind::kVector: {
      map = {{str("k"), str("sv")}, {str("d"), Value{m.doc}}, {str("v"), Value{m.bytes}}, {str("a"), Value{m.ask_back}}};
      if (!m.writers.empty()) {
        nitro::Array w;
        for (const auto& k : m.writers) w.emplace_back(k);
        map.emplace_back(str("w"), Value{std::move(w)});
      }
      if (!m.deletes.empty()) map.emplace_back(str("x"), Value{m.deletes});
      break;
    }
    case SyncMessage::Kind::kUpdate:
      map = {{str("k"), str("up")}, {str("d"), Value{m.doc}}, {str("u"), Value{m.bytes}}};
      if (!m.token.empty()) map.emplace_back(str("t"), Value{m.token});
      break;
    case SyncMessage::Kind::kPart:
      map = {{str("k"), str("part")}, {str("d"), Value{m.doc}}, {str("id"), Value{m.part_id}},
             {str("i"), Value{std::uint64_t{m.part_index}}}, {str("n"), Value{std::uint64_t{m.part_count}}},
             {str("b"), Value{m.bytes}}};
      if (!m.token.empty()) map.emplace_back(str("t"), Value{m.token});
      break;
  }
  return codec::encode(Value{std::move(map)});
}

Result<SyncMessage> decode_sync_message(std::span<const std::uint8_t> bytes) {
  if (bytes.size() > kMessageBytesMax) return Status(decode_error("doc.sync: message too large"));
  codec::Limits limits;
  limits.frame_bytes_max = kMessageBytesMax;
  limits.depth_max = 2;
  limits.collection_len_max = kWritersMax;
  auto v = codec::decode(bytes, limits);
  if (!v.ok()) return v.status();
  if (!v->is<nitro::Map>()) return Status(decode_error("doc.sync: a message is a map"));
  const std::string* k = text(*v, "k");
  const std::string* d = text(*v, "d");
  if (!k || !d || d->empty() || d->size() > kDocNameBytesMax) return Status(decode_error("doc.sync: k and d are required"));
  SyncMessage out;
  out.doc = *d;
  if (*k == "sv") {
    out.kind = SyncMessage::Kind::kVector;
    NITRO_TRY(read_vector(*v, out));
  } else if (*k == "up") {
    const Bytes* u = bin(*v, "u");
    if (!u) return Status(decode_error("doc.sync: an update message needs u (bin)"));
    out.kind = SyncMessage::Kind::kUpdate;
    out.bytes = *u;
  } else if (*k == "part") {
    out.kind = SyncMessage::Kind::kPart;
    NITRO_TRY(read_part(*v, out));
  } else {
    return Status(decode_error("doc.sync: unknown message kind"));
  }
  if (out.kind != SyncMessage::Kind::kVector) NITRO_TRY(read_token(*v, out.token));
  return out;
}

Bytes encode_gossip_update(std::span<const std::uint8_t> update, const std::string& token) {
  Value u{Bytes(update.begin(), update.end())};
  return codec::encode(token.empty() ? u : Value{nitro::Array{std::move(u), Value{token}}});
}

Result<GossipUpdate> decode_gossip_update(std::span<const std::uint8_t> payload) {
  codec::Limits limits;
  limits.depth_max = 2;
  limits.collection_len_max = 2;
  auto v = codec::decode(payload, limits);
  if (!v.ok()) return v.status();
  if (v->is<Bytes>()) return GossipUpdate{v->as<Bytes>(), {}};
  if (!v->is<nitro::Array>() || v->as<nitro::Array>().size() != 2 || !v->as<nitro::Array>()[0].is<Bytes>()) {
    return Status(decode_error("doc gossip: an update is a bin or [bin, token]"));
  }
  GossipUpdate out{v->as<nitro::Array>()[0].as<Bytes>(), {}};
  const Value& t = v->as<nitro::Array>()[1];
  if (!t.is<std::string>() || t.as<std::string>().size() != kTokenRefBytes) return Status(decode_error("doc gossip: bad token reference"));
  out.token = t.as<std::string>();
  return out;
}

}  // namespace nitro::crdt
