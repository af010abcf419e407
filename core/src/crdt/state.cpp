// DocState helpers: client/type/key tables, the per-client item index, splitting and deleting.
#include <algorithm>
#include <cassert>

#include "crdt/state.h"
#include "nitro/codec.h"

namespace nitro::crdt::detail {

std::size_t ClientIndex::chunk_of(std::uint32_t clock) const {
  auto it = std::upper_bound(first_clock_.begin(), first_clock_.end(), clock);
  return it == first_clock_.begin() ? 0 : static_cast<std::size_t>(it - first_clock_.begin() - 1);
}

std::uint32_t ClientIndex::find(const std::vector<Item>& items, std::uint32_t clock) const {
  if (chunks_.empty()) return kNone;
  const auto& chunk = chunks_[chunk_of(clock)];
  std::size_t lo = 0, hi = chunk.size();
  while (lo < hi) {  // first item whose end is after clock
    std::size_t mid = (lo + hi) / 2;
    if (items[chunk[mid]].end() <= clock) lo = mid + 1; else hi = mid;
  }
  if (lo == chunk.size()) return kNone;
  const Item& x = items[chunk[lo]];
  return (x.clock <= clock && clock < x.end()) ? chunk[lo] : kNone;
}

void ClientIndex::append(std::uint32_t item, std::uint32_t clock) {
  if (chunks_.empty() || chunks_.back().size() >= kChunk) {
    chunks_.emplace_back();
    chunks_.back().reserve(kChunk);
    first_clock_.push_back(clock);
  }
  chunks_.back().push_back(item);
}

void ClientIndex::erase(const std::vector<Item>& items, std::uint32_t clock) {
  std::size_t c = chunk_of(clock);
  auto& chunk = chunks_[c];
  auto pos = std::lower_bound(chunk.begin(), chunk.end(), clock,
                              [&](std::uint32_t it, std::uint32_t k) { return items[it].clock < k; });
  assert(pos != chunk.end() && items[*pos].clock == clock);
  chunk.erase(pos);
  if (chunk.empty()) {
    chunks_.erase(chunks_.begin() + c);
    first_clock_.erase(first_clock_.begin() + c);
  } else {
    first_clock_[c] = items[chunk.front()].clock;
  }
}

void ClientIndex::insert_after(const std::vector<Item>& items, std::uint32_t left_clock, std::uint32_t item,
                               std::uint32_t clock) {
  std::size_t c = chunk_of(left_clock);
  auto& chunk = chunks_[c];
  auto pos = std::lower_bound(chunk.begin(), chunk.end(), left_clock,
                              [&](std::uint32_t it, std::uint32_t k) { return items[it].clock < k; });
  assert(pos != chunk.end() && items[*pos].clock == left_clock);
  chunk.insert(pos + 1, item);
  if (chunk.size() > 2 * kChunk) {  // split the chunk in halves
    std::vector<std::uint32_t> tail(chunk.begin() + kChunk, chunk.end());
    chunk.resize(kChunk);
    first_clock_.insert(first_clock_.begin() + c + 1, items[tail.front()].clock);
    chunks_.insert(chunks_.begin() + c + 1, std::move(tail));
  }
  (void)clock;
}

std::uint32_t DocState::client_index(ClientId id) {
  auto it = client_of.find(id);
  if (it != client_of.end()) return it->second;
  auto idx = static_cast<std::uint32_t>(clients.size());
  clients.push_back(Client{id, 0, {}});
  client_of.emplace(id, idx);
  return idx;
}

std::uint32_t DocState::type_index(TypeKind kind, std::string_view name) {
  auto key = std::make_pair(kind, std::string(name));
  auto it = type_of.find(key);
  if (it != type_of.end()) return it->second;
  auto idx = static_cast<std::uint32_t>(types.size());
  SharedType t;
  t.kind = kind;
  t.name = key.second;
  types.push_back(std::move(t));
  type_of.emplace(std::move(key), idx);
  return idx;
}

std::uint32_t DocState::new_nested(TypeKind kind, std::uint32_t parent, std::uint32_t owner_client,
                                   std::uint32_t owner_clock) {
  auto idx = static_cast<std::uint32_t>(types.size());
  SharedType t;
  t.kind = kind;
  t.depth = types[parent].depth + 1;
  assert(t.depth <= kDepthMax);
  t.owner_client = owner_client;
  t.owner_clock = owner_clock;
  types.push_back(std::move(t));
  nested_of.emplace(std::make_pair(owner_client, owner_clock), idx);
  return idx;
}

std::uint32_t DocState::key_index(std::string_view key) {
  auto it = key_of.find(key);
  if (it != key_of.end()) return it->second;
  auto idx = static_cast<std::uint32_t>(keys.size());
  keys.emplace_back(key);
  key_of.emplace(std::string(key), idx);
  return idx;
}

std::uint32_t DocState::clock_of(ClientId id) const {
  auto it = client_of.find(id);
  return it == client_of.end() ? 0 : clients[it->second].clock;
}

std::uint32_t DocState::find_item(std::uint32_t client, std::uint32_t clock) const {
  return clients[client].index.find(items, clock);
}

// Splits item i so it keeps [clock, clock + offset) and a new item holds the rest; the new item's
// origin is the unit before it (what YATA's run semantics imply). Returns the new item.
std::uint32_t DocState::split(std::uint32_t i, std::uint32_t offset) {
  assert(offset > 0 && offset < items[i].len);
  Item right = items[i];
  right.clock += offset;
  right.len -= offset;
  right.origin_client = right.client;
  right.origin_clock = right.clock - 1;
  right.content += offset;
  right.left = i;
  const std::uint32_t j = alloc(right);
  if (right.right != kNone) items[right.right].left = j;
  items[i].right = j;
  items[i].len = offset;
  clients[right.client].index.insert_after(items, items[i].clock, j, right.clock);
  return j;
}

std::uint32_t DocState::clean_start(std::uint32_t client, std::uint32_t clock) {
  std::uint32_t i = find_item(client, clock);
  assert(i != kNone);
  return items[i].clock < clock ? split(i, clock - items[i].clock) : i;
}

std::uint32_t DocState::clean_end(std::uint32_t client, std::uint32_t clock) {
  std::uint32_t i = find_item(client, clock);
  assert(i != kNone);
  if (items[i].end() - 1 > clock) split(i, clock - items[i].clock + 1);
  return i;
}

void DocState::note_delete(std::uint32_t client, std::uint32_t clock, std::uint32_t len) {
  auto& ranges = txn_deletes[client];
  if (!ranges.empty() && ranges.back().clock + ranges.back().len == clock) {
    ranges.back().len += len;
  } else {
    ranges.push_back(Range{clock, len});
  }
}

// Tombstones one item; returns whether it was visible. Counter increments and marks cannot be
// deleted (a delete range over them is ignored, identically on every replica).
bool DocState::mark_deleted(std::uint32_t i) {
  Item& x = items[i];
  if (x.deleted || x.kind == Kind::kCounter || x.kind == Kind::kMark) return false;
  if (track.active) track_removed(*this, i);
  x.deleted = true;
  SharedType& t = types[x.type];
  if (t.kind == TypeKind::kText || t.kind == TypeKind::kList) {
    t.length -= x.len;
  } else if (t.kind == TypeKind::kSet) {
    auto it = t.elems.find(codec::encode(values[x.content]));
    if (it != t.elems.end()) {
      std::erase(it->second, i);
      if (it->second.empty()) t.elems.erase(it);
    }
  }
  return true;
}

std::uint32_t DocState::alloc(const Item& x) {
  if (!free_items.empty()) {
    const std::uint32_t j = free_items.back();
    free_items.pop_back();
    items[j] = x;
    return j;
  }
  items.push_back(x);
  return static_cast<std::uint32_t>(items.size() - 1);
}

// Merges item j into its left neighbour when j continues that run exactly (same client, next
// clock, origin = the left's last unit, same right origin and state), as Yjs does after each
// transaction: typing and runs of deletes then cost one item. Returns whether it merged.
bool DocState::merge_left(std::uint32_t j) {
  const Item& x = items[j];
  if (x.left == kNone || x.key != kNone) return false;
  if (x.kind != Kind::kText && x.kind != Kind::kValues && x.kind != Kind::kDeleted) return false;
  Item& l = items[x.left];
  if (l.kind == Kind::kType) return false;
  const bool run = l.client == x.client && l.end() == x.clock && l.deleted == x.deleted && l.type == x.type &&
                   x.origin_client == l.client && x.origin_clock == l.end() - 1 &&
                   x.right_client == l.right_client && (x.right_client == kNone || x.right_clock == l.right_clock);
  if (!run) return false;
  // deleted content is never read again, so only live runs need contiguous content
  const bool same_kind = l.kind == x.kind || (x.deleted && l.kind != Kind::kElem);
  if (!same_kind || (!x.deleted && l.content + l.len != x.content)) return false;
  l.len += x.len;
  l.right = x.right;
  if (x.right != kNone) items[x.right].left = x.left;
  clients[x.client].index.erase(items, x.clock);
  free_items.push_back(j);
  return true;
}

Value item_value(const DocState& d, const Item& x, std::uint32_t offset) {
  return x.kind == Kind::kType ? json_of(d, x.content) : d.values[x.content + offset];
}

Value json_of(const DocState& d, std::uint32_t type) {
  const SharedType& t = d.types[type];
  switch (t.kind) {
    case TypeKind::kText: {
      std::u16string units;
      for (std::uint32_t i = t.start; i != kNone; i = d.items[i].right) {
        if (d.items[i].visible()) units.append(d.text, d.items[i].content, d.items[i].len);
      }
      return Value{utf16_to_utf8_lossy(units)};
    }
    case TypeKind::kList: {
      Array out;
      for (std::uint32_t i = t.start; i != kNone; i = d.items[i].right) {
        const Item& x = d.items[i];
        for (std::uint32_t k = 0; x.visible() && k < x.len; ++k) out.push_back(item_value(d, x, k));
      }
      return Value{std::move(out)};
    }
    case TypeKind::kMap: {
      nitro::Map out;
      for (const auto& [k, i] : t.entries) {
        if (d.items[i].visible()) out.emplace_back(Value{k}, item_value(d, d.items[i], 0));
      }
      return Value{std::move(out)};
    }
    case TypeKind::kCounter: return Value{t.counter};
    case TypeKind::kSet: {
      Array out;
      for (const auto& [bytes, items] : t.elems) out.push_back(d.values[d.items[items.front()].content]);
      return Value{std::move(out)};
    }
  }
  return Value{};
}

}  // namespace nitro::crdt::detail
