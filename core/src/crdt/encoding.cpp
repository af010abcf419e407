// The update format (version 1). All integers are LEB128 varints unless noted.
//   update  := 0x10 (version 1 << 4 | frame kind 0) body
//   body    := clients: n, n x client_id            (clients with items first, group order)
//              types:   n, n x (name length << 3 | kind, name)          keys: n, n x key
//              groups:  n, n x (start_clock, item_count)   (group g = client g's items)
//              items:   item_count x item, group after group, in clock order
//              deletes: n, n x (client, ranges: m, m x (clock - previous range end, len))
//              text:    the rest: WTF-8 of every text item's units in item order
//   coded   := 0x15 body, with the text column Huffman-coded: varint(WTF-8 byte length), then the
//              code table and bits (encoding_huffman.cpp). Written for text columns of kPackTextMin
//              bytes or more (a document's state, a paste) when that is smaller; single edits stay
//              0x10, which every version reads.
//   packed  := 0x14 body, with the text column through the context-mixing coder
//              (encoding_text.cpp): read, no longer written (it costs ~0.5 µs per byte).
//   item    := header, [origin client] origin delta, [right client] right delta, [parent], content
//     header  := compact, for a text or deleted run whose origin (and right origin, if any) are in
//                its own client: varint(len << 3 | has right << 2 | deleted << 1)
//              | full: u8 (1 | kind << 1 | origin 0x10 | origin in another client 0x20 | right
//                origin 0x40 | right in another client 0x80), varint len
//     origin delta: clock - 1 - origin clock (zigzag if in another client)
//     right delta:  zigzag(base - right clock), base = origin clock + 1 if the right origin is in
//                   the origin's client, else the item's clock
//     parent: only without origins (and not for marks): varint(index << 2 | has key << 1 |
//             nested), then for a nested parent the clock of its item (index = its client), then
//             the key index if any
//     content: values: len x (byte length, msgpack); counter: zigzag delta; set element: a value;
//              nested type: u8 type kind
// Origins are deltas from what they usually are (the unit before / after), so a split run or an
// insert between two units typed in a row costs a byte each. Deleted items carry no content and
// imply their own delete range, so the delete set lists only deletions of items not included.
#include <algorithm>
#include <cassert>

#include "crdt/state.h"
#include "crdt/wire.h"
#include "nitro/codec.h"

namespace nitro::crdt::detail {
namespace {

constexpr std::uint8_t kFull = 0x01, kHasOrigin = 0x10, kOriginOther = 0x20, kHasRight = 0x40, kRightOther = 0x80;

void write_tables(const Update& u, Bytes& out) {
  put_varint(out, u.clients.size());
  for (ClientId c : u.clients) put_varint(out, c);
  put_varint(out, u.types.size());
  for (const auto& [kind, name] : u.types) {
    put_varint(out, std::uint64_t{name.size()} << 3 | static_cast<std::uint8_t>(kind));
    out.insert(out.end(), name.begin(), name.end());
  }
  put_varint(out, u.keys.size());
  for (const auto& k : u.keys) put_bytes(out, k);
}

void write_groups(const Update& u, Bytes& out) {
  std::vector<std::pair<std::size_t, std::size_t>> groups;  // first rec, count
  for (std::size_t i = 0; i < u.recs.size(); ++i) {
    if (i == 0 || u.recs[i].client != u.recs[i - 1].client) groups.emplace_back(i, 0);
    ++groups.back().second;
  }
  put_varint(out, groups.size());
  for (std::size_t g = 0; g < groups.size(); ++g) {
    auto [first, n] = groups[g];
    assert(u.recs[first].client == g);  // group g is client g's (state_as_update orders the table)
    put_varint(out, u.recs[first].clock);
    put_varint(out, n);
  }
}

void write_value(const Value& v, Bytes& out) {
  Bytes b = codec::encode(v);
  put_varint(out, b.size());
  out.insert(out.end(), b.begin(), b.end());
}

void write_header(const Rec& r, Bytes& out) {
  const bool origin = r.origin_client != kNone, origin_other = origin && r.origin_client != r.client;
  const bool right = r.right_client != kNone, right_other = right && r.right_client != r.client;
  const bool deleted = r.kind == Kind::kDeleted;
  if (origin && !origin_other && !right_other && (r.kind == Kind::kText || deleted)) {
    put_varint(out, std::uint64_t{r.len} << 3 | std::uint64_t{right} << 2 | std::uint64_t{deleted} << 1);
  } else {
    out.push_back(static_cast<std::uint8_t>(kFull | static_cast<std::uint8_t>(r.kind) << 1 | (origin ? kHasOrigin : 0) |
                                            (origin_other ? kOriginOther : 0) | (right ? kHasRight : 0) |
                                            (right_other ? kRightOther : 0)));
    put_varint(out, r.len);
  }
  if (origin) {
    if (origin_other) put_varint(out, r.origin_client);
    const std::int64_t delta = std::int64_t{r.clock} - 1 - r.origin_clock;
    assert(origin_other || delta >= 0);  // an origin in the same client is older
    put_varint(out, origin_other ? zigzag(delta) : static_cast<std::uint64_t>(delta));
  }
  if (right) {
    if (right_other) put_varint(out, r.right_client);
    put_varint(out, zigzag(right_base(r) - r.right_clock));
  }
}

void write_item(const Update& u, const Rec& r, Bytes& out, std::string& text) {
  write_header(r, out);
  if (r.type != kNone || r.parent_client != kNone) {  // ref := index << 2 | has key << 1 | nested
    assert(r.origin_client == kNone && r.right_client == kNone);
    const bool nested = r.parent_client != kNone;
    put_varint(out, std::uint64_t{nested ? r.parent_client : r.type} << 2 | std::uint64_t{r.key != kNone} << 1 | nested);
    if (nested) put_varint(out, r.parent_clock);
    if (r.key != kNone) put_varint(out, r.key);
  }
  switch (r.kind) {
    case Kind::kText: utf16_to_wtf8(std::u16string_view(u.text).substr(r.content, r.len), text); break;
    case Kind::kValues:
      for (std::uint32_t k = 0; k < r.len; ++k) write_value(u.values[r.content + k], out);
      break;
    case Kind::kCounter: put_varint(out, zigzag(u.values[r.content].as<std::int64_t>())); break;
    case Kind::kElem: write_value(u.values[r.content], out); break;
    case Kind::kType: out.push_back(static_cast<std::uint8_t>(r.content)); break;
    case Kind::kDeleted:
    case Kind::kMark: break;
  }
}

}  // namespace

// Sorted and merged per client, so every gap is non-negative.
std::vector<std::pair<std::uint32_t, Range>> normalized(std::vector<std::pair<std::uint32_t, Range>> ds) {
  std::sort(ds.begin(), ds.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : a.second.clock < b.second.clock;
  });
  std::vector<std::pair<std::uint32_t, Range>> out;
  for (const auto& [c, r] : ds) {
    if (!out.empty() && out.back().first == c && r.clock <= out.back().second.clock + out.back().second.len) {
      Range& last = out.back().second;
      last.len = std::max(last.clock + last.len, r.clock + r.len) - last.clock;
    } else {
      out.emplace_back(c, r);
    }
  }
  return out;
}

namespace {

void write_deletes(const Update& u, Bytes& out) {
  auto ds = normalized(u.deletes);
  std::size_t groups = 0;
  for (std::size_t i = 0; i < ds.size(); ++i) groups += (i == 0 || ds[i].first != ds[i - 1].first);
  put_varint(out, groups);
  for (std::size_t i = 0; i < ds.size();) {
    std::size_t j = i;
    while (j < ds.size() && ds[j].first == ds[i].first) ++j;
    put_varint(out, ds[i].first);
    put_varint(out, j - i);
    std::uint32_t prev_end = 0;
    for (; i < j; ++i) {
      put_varint(out, ds[i].second.clock - prev_end);
      put_varint(out, ds[i].second.len);
      prev_end = ds[i].second.clock + ds[i].second.len;
    }
  }
}

}  // namespace

void write_update(const Update& u, Bytes& out) {
  const std::size_t start = out.size();
  out.push_back(header(Frame::kUpdate));
  write_tables(u, out);
  write_groups(u, out);
  std::string text;
  text.reserve(u.text.size());  // a byte per unit: the size of ASCII text
  for (const Rec& r : u.recs) write_item(u, r, out, text);
  write_deletes(u, out);
  const std::size_t body = out.size();
  if (text.size() >= kPackTextMin) {  // coded in place, dropped again if it is not smaller
    put_varint(out, text.size());
    huffman_pack_text(text, out);
    if (out.size() - body < text.size()) {
      out[start] = header(Frame::kCoded);
      return;
    }
    out.resize(body);
  }
  out.insert(out.end(), text.begin(), text.end());
}

}  // namespace nitro::crdt::detail
