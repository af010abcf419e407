// Decoder for the update format (see encoding.cpp). Total and bounded: every count is checked
// against the bytes left before anything is reserved, every clock against kClockMax, every table
// index against its table. Structural validity only; references are checked by the integrator.
#include <set>

#include "crdt/state.h"
#include "crdt/wire.h"
#include "nitro/codec.h"

namespace nitro::crdt::detail {
namespace {

constexpr std::uint8_t kFull = 0x01, kHasOrigin = 0x10, kOriginOther = 0x20, kHasRight = 0x40, kRightOther = 0x80;

Status bad(const char* what) { return decode_error(std::string("crdt update: ") + what); }

Status read_tables(Reader& r, Update& u, const Limits& limits) {
  std::size_t n = r.count();
  std::set<ClientId> seen;
  for (std::size_t i = 0; i < n && r.ok(); ++i) {
    std::uint64_t id = r.varint();
    if (id > kClientIdMax || !seen.insert(id).second) return bad("bad or repeated client id");
    u.clients.push_back(id);
  }
  n = r.count();
  for (std::size_t i = 0; i < n && r.ok(); ++i) {
    const std::uint64_t word = r.varint();  // name length << 3 | kind
    const std::uint64_t kind = word & 7, len = word >> 3;
    if (!r.ok() || kind > kTypeKindMax || len > limits.name_bytes_max) return bad("bad type entry");
    auto name_bytes = r.bytes(static_cast<std::size_t>(len));
    std::string_view name(reinterpret_cast<const char*>(name_bytes.data()), name_bytes.size());
    u.types.emplace_back(static_cast<TypeKind>(kind), std::string(name));
  }
  n = r.count();
  for (std::size_t i = 0; i < n && r.ok(); ++i) u.keys.emplace_back(r.str(limits.key_bytes_max));
  return r.ok() ? Status{} : bad("truncated tables");
}

// A reference (client, clock) written as a delta from the item's clock; false if out of range.
bool read_ref(Reader& r, const Update& u, bool other, Rec& rec, bool right, std::uint32_t& client,
              std::uint32_t& clock) {
  client = other ? static_cast<std::uint32_t>(std::min<std::uint64_t>(r.varint(), kNone)) : rec.client;
  const std::int64_t base = right ? right_base(Rec{rec.client, rec.clock, 0, Kind::kMark, rec.origin_client,
                                                   rec.origin_clock, client})
                                  : std::int64_t{rec.clock} - 1;
  const std::uint64_t raw = r.varint();
  const bool plain = !right && !other;  // same-client origins are older: unsigned delta
  if (plain && raw > std::uint64_t{kClockMax}) return false;
  // A signed delta beyond any clock cannot name a valid item (and INT64_MIN would overflow below).
  if (!plain && raw > 2 * (std::uint64_t{kClockMax} + 2)) return false;
  const std::int64_t c = base - (plain ? static_cast<std::int64_t>(raw) : unzigzag(raw));
  if (!r.ok() || client >= u.clients.size() || c < 0 || c >= std::int64_t{kClockMax}) return false;
  clock = static_cast<std::uint32_t>(c);
  return true;
}

// An explicit parent: a root type (index into the table) or a nested type (its item's id).
Status read_parent(Reader& r, const Update& u, Rec& rec) {
  const std::uint64_t ref = r.varint();
  const std::uint64_t index = ref >> 2;
  if (ref & 1) {
    const std::uint64_t clock = r.varint();
    if (!r.ok() || index >= u.clients.size() || clock >= kClockMax) return bad("bad nested parent");
    rec.parent_client = static_cast<std::uint32_t>(index);
    rec.parent_clock = static_cast<std::uint32_t>(clock);
  } else {
    if (!r.ok() || index >= u.types.size()) return bad("bad parent");
    rec.type = static_cast<std::uint32_t>(index);
    if (((ref >> 1) & 1) != (u.types[index].first == TypeKind::kMap)) return bad("map parents need a key");
  }
  if (ref & 2) {
    const std::uint64_t k = r.varint();
    if (!r.ok() || k >= u.keys.size()) return bad("bad key");
    rec.key = static_cast<std::uint32_t>(k);
  }
  return {};
}

Status read_value(Reader& r, std::vector<Value>& values) {
  std::size_t n = r.count();
  auto bytes = r.bytes(n);
  if (!r.ok()) return bad("truncated value");
  auto v = codec::decode(bytes);
  if (!v.ok()) return v.status();
  values.push_back(std::move(*v));
  return {};
}

Status read_content(Reader& r, Update& u, Rec& rec, std::uint64_t& text_units) {
  rec.content = static_cast<std::uint32_t>(rec.kind == Kind::kText ? text_units : u.values.size());
  switch (rec.kind) {
    case Kind::kText: text_units += rec.len; break;
    case Kind::kValues:
      if (rec.len > r.remaining()) return bad("value count exceeds input");
      for (std::uint32_t k = 0; k < rec.len; ++k) NITRO_TRY(read_value(r, u.values));
      break;
    case Kind::kCounter: u.values.emplace_back(unzigzag(r.varint())); break;
    case Kind::kElem: NITRO_TRY(read_value(r, u.values)); break;
    case Kind::kType:
      rec.content = r.byte();
      if (rec.content > kTypeKindMax) return bad("unknown nested type kind");
      break;
    case Kind::kDeleted:
    case Kind::kMark: break;
  }
  const bool single = rec.kind == Kind::kCounter || rec.kind == Kind::kElem || rec.kind == Kind::kMark ||
                      rec.kind == Kind::kType;
  if (single && rec.len != 1) return bad("counter, set and mark items have length 1");
  return r.ok() ? Status{} : bad("truncated content");
}

Status read_item(Reader& r, Update& u, std::uint32_t client, std::uint32_t clock, std::uint64_t& text_units) {
  Rec rec;
  rec.client = client;
  rec.clock = clock;
  std::uint8_t info;
  std::uint64_t len;
  if (r.peek() & kFull) {
    info = r.byte();
    if (((info >> 1) & 7) > kKindMax) return bad("unknown item kind");
    rec.kind = static_cast<Kind>((info >> 1) & 7);
    len = r.varint();
  } else {  // compact: a text or deleted run with same-client origins
    const std::uint64_t h = r.varint();
    rec.kind = (h & 2) ? Kind::kDeleted : Kind::kText;
    info = kHasOrigin | ((h & 4) ? kHasRight : 0);
    len = h >> 3;
  }
  if (!r.ok() || len == 0 || len > kClockMax - clock) return bad("bad item length");
  rec.len = static_cast<std::uint32_t>(len);
  if ((info & kHasOrigin) &&
      !read_ref(r, u, info & kOriginOther, rec, false, rec.origin_client, rec.origin_clock)) {
    return bad("bad origin");
  }
  if ((info & kHasRight) &&
      !read_ref(r, u, info & kRightOther, rec, true, rec.right_client, rec.right_clock)) {
    return bad("bad right origin");
  }
  if ((info & kOriginOther) && !(info & kHasOrigin)) return bad("stray flag");
  if ((info & kRightOther) && !(info & kHasRight)) return bad("stray flag");
  if (!(info & (kHasOrigin | kHasRight)) && rec.kind != Kind::kMark) NITRO_TRY(read_parent(r, u, rec));
  NITRO_TRY(read_content(r, u, rec, text_units));
  u.recs.push_back(rec);
  return {};
}

Status read_items(Reader& r, Update& u, std::uint64_t& text_units) {
  // group g holds the items of client g, so a client has at most one group
  const std::size_t groups = r.count(2);
  if (groups > u.clients.size()) return bad("more groups than clients");
  std::vector<std::uint64_t> header(2 * groups);
  std::uint64_t items = 0;
  for (std::size_t k = 0; k < header.size(); ++k) {
    header[k] = r.varint();
    if (k % 2) items += header[k];
  }
  if (!r.ok()) return bad("truncated groups");
  u.recs.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(items, r.remaining())));  // an item is a byte or more
  for (std::size_t g = 0; g < groups; ++g) {
    const std::uint64_t client = g, start = header[2 * g], n = header[2 * g + 1];
    if (start >= kClockMax || n == 0 || n > r.remaining()) return bad("bad group");
    std::uint32_t clock = static_cast<std::uint32_t>(start);
    for (std::uint64_t i = 0; i < n; ++i) {
      NITRO_TRY(read_item(r, u, static_cast<std::uint32_t>(client), clock, text_units));
      clock = u.recs.back().clock + u.recs.back().len;
    }
  }
  return {};
}

// A packed or coded column's declared length is checked before anything is decoded: WTF-8 takes
// 1 to 3 bytes per UTF-16 unit, no more than the update limit, and no more than the coder can
// expand a byte to (a Huffman code takes at least a bit per byte).
Result<std::string> unpacked_text(Reader& r, std::uint64_t text_units, Frame frame, const Limits& limits) {
  const std::uint64_t size = r.varint();
  const std::size_t n = r.remaining();
  auto coded = r.bytes(n);
  if (!r.ok()) return bad("truncated packed text");
  if (size < text_units || size > 3 * text_units) return bad("packed text length does not match its items");
  // Refused before any work: decoding costs time per declared byte, so the declared length may
  // exceed the coded bytes only by the ratio the encoder ever writes.
  const std::size_t ratio = frame == Frame::kCoded ? 8 : kPackRatioMax;
  if (size > ratio * n || size > limits.update_bytes_max) {
    return resource_exhausted("crdt update: packed text expands beyond the limit");
  }
  if (frame == Frame::kPacked) return unpack_text(coded, static_cast<std::size_t>(size));
  std::string text;
  if (!huffman_unpack_text(coded, static_cast<std::size_t>(size), text)) return bad("malformed coded text");
  return text;
}

Status read_text(Reader& r, Update& u, std::uint64_t text_units, Frame frame, const Limits& limits) {
  std::string unpacked;
  std::span<const std::uint8_t> bytes;
  if (frame != Frame::kUpdate) {
    auto t = unpacked_text(r, text_units, frame, limits);
    if (!t.ok()) return t.status();
    unpacked = std::move(*t);
    bytes = {reinterpret_cast<const std::uint8_t*>(unpacked.data()), unpacked.size()};
  } else {
    bytes = r.bytes(r.remaining());
    if (!r.ok()) return bad("truncated text");
  }
  if (text_units > bytes.size()) return bad("text shorter than its items");
  u.text.reserve(text_units);
  if (!wtf8_to_utf16({reinterpret_cast<const char*>(bytes.data()), bytes.size()}, u.text)) return bad("malformed text");
  if (u.text.size() != text_units) return bad("text length does not match its items");
  return {};
}

Status read_deletes(Reader& r, Update& u) {
  const std::size_t groups = r.count(2);
  for (std::size_t g = 0; g < groups && r.ok(); ++g) {
    const std::uint64_t client = r.varint();
    const std::size_t n = r.count(2);
    if (!r.ok() || client >= u.clients.size()) return bad("bad delete group");
    std::uint64_t end = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint64_t gap = r.varint(), len = r.varint();
      if (!r.ok() || len == 0 || gap > kClockMax || len > kClockMax || end + gap + len > kClockMax) {
        return bad("bad delete range");
      }
      u.deletes.emplace_back(static_cast<std::uint32_t>(client),
                             Range{static_cast<std::uint32_t>(end + gap), static_cast<std::uint32_t>(len)});
      end += gap + len;
    }
  }
  return r.ok() ? Status{} : bad("truncated deletes");
}

}  // namespace

Result<Update> read_update(std::span<const std::uint8_t> bytes, const Limits& limits) {
  if (bytes.size() > limits.update_bytes_max) return resource_exhausted("crdt update larger than the limit");
  Reader r(bytes);
  const std::uint8_t h = r.byte();
  if (h >> 4 != kVersion) return bad("unknown version");
  const Frame frame = static_cast<Frame>(h & 15);
  if (frame != Frame::kUpdate && frame != Frame::kPacked && frame != Frame::kCoded) return bad("not a plain update");
  Update u;
  NITRO_TRY(read_tables(r, u, limits));
  std::uint64_t text_units = 0;
  NITRO_TRY(read_items(r, u, text_units));
  NITRO_TRY(read_deletes(r, u));
  NITRO_TRY(read_text(r, u, text_units, frame, limits));  // the rest of the input
  return u;
}

Result<std::map<ClientId, std::uint32_t>> read_state_vector(std::span<const std::uint8_t> bytes) {
  Reader r(bytes);
  if (r.byte() != header(Frame::kStateVector)) {
    return bad("not a state vector");
  }
  std::map<ClientId, std::uint32_t> sv;
  const std::size_t n = r.count(2);
  for (std::size_t i = 0; i < n && r.ok(); ++i) {
    const std::uint64_t client = r.varint(), clock = r.varint();
    if (client > kClientIdMax || clock > kClockMax) return bad("bad state vector entry");
    sv[client] = static_cast<std::uint32_t>(clock);
  }
  if (!r.ok() || !r.done()) return bad("malformed state vector");
  return sv;
}

}  // namespace nitro::crdt::detail
