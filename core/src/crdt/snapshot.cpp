// Doc -> Update: the items a peer lacks (everything at or after its state vector), with deleted
// content dropped, plus the complete delete set.
#include "crdt/state.h"

namespace nitro::crdt::detail {
namespace {

struct Tables {  // doc indices -> update table indices
  Update& u;
  const DocState& d;
  std::map<std::uint32_t, std::uint32_t> clients, types, keys;

  std::uint32_t client(std::uint32_t c) {
    auto [it, fresh] = clients.try_emplace(c, static_cast<std::uint32_t>(u.clients.size()));
    if (fresh) u.clients.push_back(d.clients[c].id);
    return it->second;
  }
  std::uint32_t type(std::uint32_t t) {
    auto [it, fresh] = types.try_emplace(t, static_cast<std::uint32_t>(u.types.size()));
    if (fresh) u.types.emplace_back(d.types[t].kind, d.types[t].name);
    return it->second;
  }
  std::uint32_t key(std::uint32_t k) {
    auto [it, fresh] = keys.try_emplace(k, static_cast<std::uint32_t>(u.keys.size()));
    if (fresh) u.keys.push_back(d.keys[k]);
    return it->second;
  }
};

void emit(Tables& tb, const Item& x, std::uint32_t offset) {
  Update& u = tb.u;
  const DocState& d = tb.d;
  Rec r;
  r.client = tb.client(x.client);
  r.clock = x.clock + offset;
  r.len = x.len - offset;
  const bool droppable = x.kind == Kind::kText || x.kind == Kind::kValues || x.kind == Kind::kElem;
  r.kind = x.deleted && droppable ? Kind::kDeleted : x.kind;
  if (offset > 0) {
    r.origin_client = r.client;
    r.origin_clock = r.clock - 1;
  } else if (x.origin_client != kNone) {
    r.origin_client = tb.client(x.origin_client);
    r.origin_clock = x.origin_clock;
  }
  if (x.right_client != kNone) {
    r.right_client = tb.client(x.right_client);
    r.right_clock = x.right_clock;
  }
  if (r.origin_client == kNone && r.right_client == kNone && x.type != kNone) {
    const SharedType& parent = d.types[x.type];
    if (parent.owner_client == kNone) {
      r.type = tb.type(x.type);
    } else {
      r.parent_client = tb.client(parent.owner_client);
      r.parent_clock = parent.owner_clock;
    }
    if (x.key != kNone) r.key = tb.key(x.key);
  }
  if (r.kind == Kind::kType) r.content = static_cast<std::uint32_t>(d.types[x.content].kind);
  if (r.kind == Kind::kText) {
    r.content = static_cast<std::uint32_t>(u.text.size());
    u.text.append(d.text, x.content + offset, r.len);
  } else if (r.kind == Kind::kValues || r.kind == Kind::kElem || r.kind == Kind::kCounter) {
    r.content = static_cast<std::uint32_t>(u.values.size());
    u.values.insert(u.values.end(), d.values.begin() + x.content + offset, d.values.begin() + x.content + x.len);
  }
  u.recs.push_back(r);
}

}  // namespace

Update state_as_update(const DocState& d, const std::map<ClientId, std::uint32_t>& from, bool only_listed) {
  Update u;
  Tables tb{u, d, {}, {}, {}};
  auto start_of = [&](ClientId id, std::uint32_t c) -> std::uint32_t {
    auto it = from.find(id);
    if (only_listed && it == from.end()) return d.clients[c].clock;
    return it == from.end() ? 0 : it->second;
  };
  for (const auto& [id, c] : d.client_of) {  // clients with items come first in the table
    if (start_of(id, c) < d.clients[c].clock) tb.client(c);
  }
  for (const auto& [id, c] : d.client_of) {
    const std::uint32_t start = start_of(id, c);
    if (start >= d.clients[c].clock) continue;
    d.clients[c].index.for_each_from(d.items, start, [&](std::uint32_t i) {
      const Item& x = d.items[i];
      emit(tb, x, start > x.clock ? start - x.clock : 0);
    });
  }
  return u;
}

// Deletions of items below `from` (items at or above it travel as deleted items, which imply
// their own range; a nested type's item keeps its kind when deleted, so it is always listed).
void append_all_deletes(const DocState& d, Update& u, const std::map<ClientId, std::uint32_t>& from) {
  std::map<ClientId, std::uint32_t> index_of;
  for (std::uint32_t i = 0; i < u.clients.size(); ++i) index_of[u.clients[i]] = i;
  for (const auto& [id, c] : d.client_of) {
    auto f = from.find(id);
    const std::uint32_t limit = f == from.end() ? 0 : std::min(f->second, d.clients[c].clock);
    std::vector<Range> ranges;
    d.clients[c].index.for_each_from(d.items, 0, [&](std::uint32_t i) {
      const Item& x = d.items[i];
      if (!x.deleted || (x.clock >= limit && x.kind != Kind::kType)) return;
      const Range part{x.clock, x.kind == Kind::kType ? 1 : std::min(x.end(), limit) - x.clock};
      if (!ranges.empty() && ranges.back().clock + ranges.back().len == part.clock) {
        ranges.back().len += part.len;
      } else {
        ranges.push_back(part);
      }
    });
    if (ranges.empty()) continue;
    auto [it, fresh] = index_of.try_emplace(id, static_cast<std::uint32_t>(u.clients.size()));
    if (fresh) u.clients.push_back(id);
    for (const Range& r : ranges) u.deletes.emplace_back(it->second, r);
  }
}

void append_txn_deletes(const DocState& d, Update& u) {
  std::map<ClientId, std::uint32_t> index_of;
  for (std::uint32_t i = 0; i < u.clients.size(); ++i) index_of[u.clients[i]] = i;
  for (const auto& [c, ranges] : d.txn_deletes) {
    auto [it, fresh] = index_of.try_emplace(d.clients[c].id, static_cast<std::uint32_t>(u.clients.size()));
    if (fresh) u.clients.push_back(d.clients[c].id);
    for (const Range& r : ranges) u.deletes.emplace_back(it->second, r);
  }
}

}  // namespace nitro::crdt::detail
