// Local edits: each creates (or extends) items under the local client and records deletes in the
// open transaction. Every public edit runs inside a transaction (an implicit one if none is open).
#include <cassert>

#include "crdt/local.h"
#include "nitro/codec.h"

namespace nitro::crdt::detail {
namespace {

struct Neighbours {
  std::uint32_t left;
  std::uint32_t right;
};

// The items a new run at `pos` goes between: left is the visible item ending at pos (split when
// pos falls inside it), right is whatever follows it (possibly a tombstone).
Neighbours neighbours(DocState& d, std::uint32_t type, std::uint32_t pos) {
  if (pos == 0) return {kNone, d.types[type].start};
  Found f = find_visible(d, type, pos - 1);
  const std::uint32_t offset = pos - f.pos;
  if (offset < d.items[f.item].len) return {f.item, d.split(f.item, offset)};
  return {f.item, d.items[f.item].right};
}

bool can_extend(const DocState& d, Neighbours n, Kind kind, std::uint32_t content) {
  if (n.left == kNone) return false;
  const Item& l = d.items[n.left];
  const Client& self = d.clients[d.self];
  if (kind == Kind::kType) return false;  // one nested type per item
  if (l.client != d.self || l.end() != self.clock || l.kind != kind || l.deleted) return false;
  if (l.content + l.len != content || l.key != kNone) return false;
  if (n.right == kNone) return l.right_client == kNone;
  const Item& r = d.items[n.right];
  return l.right_client == r.client && l.right_clock == r.clock;
}

std::uint32_t new_item(DocState& d, Kind kind, std::uint32_t len, std::uint32_t type, std::uint32_t content) {
  Client& self = d.clients[d.self];
  Item x;
  x.client = d.self;
  x.clock = self.clock;
  x.len = len;
  x.kind = kind;
  x.type = type;
  x.content = content;
  const std::uint32_t j = d.alloc(x);
  self.index.append(j, x.clock);
  self.clock += len;
  return j;
}

void link(DocState& d, std::uint32_t j, Neighbours n) {
  Item& x = d.items[j];
  x.left = n.left;
  x.right = n.right;
  if (n.left != kNone) {
    const Item& l = d.items[n.left];
    x.origin_client = l.client;
    x.origin_clock = l.end() - 1;
    d.items[n.left].right = j;
  } else {
    d.types[x.type].start = j;
  }
  if (n.right != kNone) {
    x.right_client = d.items[n.right].client;
    x.right_clock = d.items[n.right].clock;
    d.items[n.right].left = j;
  }
}

}  // namespace

// Merges the tombstones of [first, stop) with each other and their neighbours.
void merge_deleted(DocState& d, std::uint32_t first, std::uint32_t stop) {
  for (std::uint32_t it = first; it != stop;) {
    const std::uint32_t next = d.items[it].right;
    d.merge_left(it);
    it = next;
  }
  if (stop != kNone) d.merge_left(stop);
}

Status check_room(const DocState& d, std::size_t n) {
  if (n > kClockMax - d.clients[d.self].clock) return resource_exhausted("client clock would exceed its limit");
  return {};
}

// Inserts n units already appended to the content pool at `content`.
void insert_run(DocState& d, std::uint32_t type, std::uint32_t pos, Kind kind, std::uint32_t content,
                std::uint32_t n) {
  assert(n > 0);
  Neighbours nb = neighbours(d, type, pos);
  if (can_extend(d, nb, kind, content)) {
    d.items[nb.left].len += n;
    d.clients[d.self].clock += n;
  } else {
    link(d, new_item(d, kind, n, type, content), nb);
  }
  SharedType& t = d.types[type];
  t.length += n;
  markers_on_insert(t, pos, n);
}

void erase_run(DocState& d, std::uint32_t type, std::uint32_t pos, std::uint32_t n) {
  Found f = find_visible(d, type, pos);
  std::uint32_t it = f.item;
  if (pos > f.pos) it = d.split(it, pos - f.pos);
  std::uint32_t remaining = n;
  const std::uint32_t first = it;
  while (remaining > 0) {
    assert(it != kNone);
    if (d.items[it].visible()) {
      if (d.items[it].len > remaining) d.split(it, remaining);
      const Item& x = d.items[it];
      remaining -= x.len;
      d.note_delete(x.client, x.clock, x.len);
      d.mark_deleted(it);
    }
    it = d.items[it].right;
  }
  merge_deleted(d, first, it);
  markers_on_delete(d.types[type], pos, n);
}

void map_set(DocState& d, std::uint32_t type, std::uint32_t key, Value value) {
  d.values.push_back(std::move(value));
  const auto content = static_cast<std::uint32_t>(d.values.size() - 1);
  std::uint32_t j = new_item(d, Kind::kValues, 1, type, content);
  d.items[j].key = key;
  map_link_tail(d, type, key, j);
}

void map_link_tail(DocState& d, std::uint32_t type, std::uint32_t key, std::uint32_t j) {
  SharedType& t = d.types[type];
  auto [it, fresh] = t.entries.try_emplace(d.keys[key], j);
  if (fresh) {
    t.heads[key] = j;
    return;
  }
  const std::uint32_t prev = it->second;
  it->second = j;
  Item& x = d.items[j];
  x.left = prev;
  x.origin_client = d.items[prev].client;
  x.origin_clock = d.items[prev].end() - 1;
  d.items[prev].right = j;
  if (d.items[prev].visible()) {
    d.note_delete(d.items[prev].client, d.items[prev].clock, 1);
    d.mark_deleted(prev);
  }
}

std::uint32_t map_set_type(DocState& d, std::uint32_t type, std::uint32_t key, TypeKind kind) {
  const std::uint32_t nested = d.new_nested(kind, type, d.self, d.clients[d.self].clock);
  std::uint32_t j = new_item(d, Kind::kType, 1, type, nested);
  d.items[j].key = key;
  map_link_tail(d, type, key, j);
  return nested;
}

std::uint32_t list_insert_type(DocState& d, std::uint32_t type, std::uint32_t index, TypeKind kind) {
  const std::uint32_t nested = d.new_nested(kind, type, d.self, d.clients[d.self].clock);
  insert_run(d, type, index, Kind::kType, nested, 1);
  return nested;
}

bool map_erase(DocState& d, std::uint32_t type, std::string_view key) {
  SharedType& t = d.types[type];
  auto it = t.entries.find(std::string(key));
  if (it == t.entries.end() || !d.items[it->second].visible()) return false;
  const Item& x = d.items[it->second];
  d.note_delete(x.client, x.clock, 1);
  d.mark_deleted(it->second);
  return true;
}

void counter_add(DocState& d, std::uint32_t type, std::int64_t delta) {
  d.values.emplace_back(delta);
  new_item(d, Kind::kCounter, 1, type, static_cast<std::uint32_t>(d.values.size() - 1));
  d.types[type].counter = static_cast<std::int64_t>(static_cast<std::uint64_t>(d.types[type].counter) +
                                                    static_cast<std::uint64_t>(delta));
}

void set_add(DocState& d, std::uint32_t type, Value value) {
  Bytes key = codec::encode(value);
  d.values.push_back(std::move(value));
  std::uint32_t j = new_item(d, Kind::kElem, 1, type, static_cast<std::uint32_t>(d.values.size() - 1));
  d.types[type].elems[key].push_back(j);
}

bool set_erase(DocState& d, std::uint32_t type, const Value& value) {
  SharedType& t = d.types[type];
  auto it = t.elems.find(codec::encode(value));
  if (it == t.elems.end()) return false;
  std::vector<std::uint32_t> live = it->second;  // mark_deleted edits the map entry
  for (std::uint32_t j : live) {
    d.note_delete(d.items[j].client, d.items[j].clock, 1);
    d.mark_deleted(j);
  }
  return true;
}

void add_mark(DocState& d) { new_item(d, Kind::kMark, 1, kNone, 0); }

}  // namespace nitro::crdt::detail
