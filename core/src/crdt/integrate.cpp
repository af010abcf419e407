// Integration of remote records: plan (order by causal readiness and validate every reference)
// then commit (YATA placement). Nothing is mutated until the whole plan has validated.
#include <algorithm>
#include <cassert>

#include "crdt/state.h"
#include "nitro/codec.h"

namespace nitro::crdt::detail {
namespace {

Status invalid(const char* what) { return decode_error(std::string("crdt update: ") + what); }

struct Target {  // what a reference resolves to
  std::uint32_t type = kNone;
  std::uint32_t key = kNone;
  bool seq = false;  // a Text/List/Map-chain item that can be an origin
};

struct Seg {
  std::uint32_t clock, end, rec;
};

struct Planner {
  DocState& d;
  const Update& u;
  std::vector<std::uint32_t> base, vclock;  // doc clock before, virtual clock while planning
  std::vector<std::vector<std::uint32_t>> queue;
  std::vector<std::size_t> next;
  std::vector<std::uint8_t> blocked, in_stack;
  std::vector<std::vector<Seg>> segs;
  std::vector<Target> res;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> order;  // (rec, offset)
  // Types and keys this update would create get the indices they will have after commit: roots
  // first (vbase, vbase + 1, ...), then nested types in plan order; new keys likewise. Nothing is
  // created before the commit, so a rejected update leaves no trace.
  std::vector<std::uint32_t> doc_type, doc_key;
  std::uint32_t vbase = 0, kbase = 0;
  std::vector<TypeKind> vkind;
  std::vector<std::uint32_t> vdepth, vtype;     // vtype: per record, its new nested type (kNone)
  std::vector<std::uint32_t> new_roots, new_keys;  // update table indices to create at commit

  Planner(DocState& doc, const Update& up) : d(doc), u(up) {
    const std::size_t n = u.clients.size();
    base.resize(n);
    for (std::size_t c = 0; c < n; ++c) base[c] = d.clock_of(u.clients[c]);
    vclock = base;
    queue.resize(n);
    next.assign(n, 0);
    blocked.assign(n, 0);
    in_stack.assign(n, 0);
    segs.resize(n);
    res.resize(u.recs.size());
    for (std::uint32_t i = 0; i < u.recs.size(); ++i) queue[u.recs[i].client].push_back(i);
    for (auto& q : queue) {
      std::stable_sort(q.begin(), q.end(), [&](auto a, auto b) { return u.recs[a].clock < u.recs[b].clock; });
    }
    vbase = static_cast<std::uint32_t>(d.types.size());
    std::map<std::pair<TypeKind, std::string>, std::uint32_t> fresh_types;  // a table may repeat
    for (std::uint32_t i = 0; i < u.types.size(); ++i) {
      auto it = d.type_of.find(u.types[i]);
      if (it != d.type_of.end()) {
        doc_type.push_back(it->second);
        continue;
      }
      auto [f, added] = fresh_types.try_emplace(u.types[i], vbase + static_cast<std::uint32_t>(vkind.size()));
      doc_type.push_back(f->second);
      if (!added) continue;
      vkind.push_back(u.types[i].first);
      vdepth.push_back(0);
      new_roots.push_back(i);
    }
    kbase = static_cast<std::uint32_t>(d.keys.size());
    std::map<std::string, std::uint32_t> fresh_keys;
    for (std::uint32_t i = 0; i < u.keys.size(); ++i) {
      auto it = d.key_of.find(u.keys[i]);
      if (it != d.key_of.end()) {
        doc_key.push_back(it->second);
        continue;
      }
      auto [f, added] = fresh_keys.try_emplace(u.keys[i], kbase + static_cast<std::uint32_t>(new_keys.size()));
      doc_key.push_back(f->second);
      if (added) new_keys.push_back(i);
    }
    vtype.assign(u.recs.size(), kNone);
  }

  // Creates the planned root types and keys, at the indices the plan used.
  void create_tables() const {
    for (std::uint32_t i : new_roots) {
      [[maybe_unused]] const std::uint32_t t = d.type_index(u.types[i].first, u.types[i].second);
      assert(t == doc_type[i]);
    }
    for (std::uint32_t i : new_keys) {
      [[maybe_unused]] const std::uint32_t k = d.key_index(u.keys[i]);
      assert(k == doc_key[i]);
    }
  }

  TypeKind kind_of(std::uint32_t t) const { return t < vbase ? d.types[t].kind : vkind[t - vbase]; }
  std::uint32_t depth_of(std::uint32_t t) const { return t < vbase ? d.types[t].depth : vdepth[t - vbase]; }

  // The record planned (in this update) that holds unit (uc, clock), or kNone.
  std::uint32_t planned_rec(std::uint32_t uc, std::uint32_t clock) const {
    const auto& s = segs[uc];
    auto it = std::upper_bound(s.begin(), s.end(), clock, [](std::uint32_t k, const Seg& g) { return k < g.clock; });
    return (it == s.begin() || clock >= (it - 1)->end) ? kNone : (it - 1)->rec;
  }

  Result<std::uint32_t> nested_type(std::uint32_t uc, std::uint32_t clock) const {
    if (clock < base[uc]) {
      const Item& x = d.items[d.find_item(d.client_of.at(u.clients[uc]), clock)];
      if (x.kind != Kind::kType) return invalid("nested parent is not a nested type");
      return x.content;
    }
    const std::uint32_t ri = planned_rec(uc, clock);
    if (ri == kNone || u.recs[ri].kind != Kind::kType) return invalid("nested parent is not a nested type");
    return vtype[ri];
  }

  Target target(std::uint32_t uc, std::uint32_t clock) const {
    if (clock < base[uc]) {
      const Item& x = d.items[d.find_item(d.client_of.at(u.clients[uc]), clock)];
      const bool seq = is_placed(x.kind) && x.type != kNone && is_sequence(d.types[x.type].kind);
      return Target{x.type, x.key, seq};
    }
    const std::uint32_t ri = planned_rec(uc, clock);
    return ri == kNone ? Target{} : res[ri];
  }

  Result<Target> parent_of(const Rec& r, std::uint32_t offset) const;
  Status check_kind(const Rec& r, const Target& t) const;
  std::uint32_t unmet(const Rec& r, std::uint32_t offset) const;
  Status plan_client(std::uint32_t c);
  Status plan();
};

Result<Target> Planner::parent_of(const Rec& r, std::uint32_t offset) const {
  const bool origins = r.origin_client != kNone || r.right_client != kNone;
  if (r.kind == Kind::kMark) {
    if (origins || r.type != kNone || r.parent_client != kNone) return invalid("a mark has no parent");
    return Target{};
  }
  Target t;
  bool known = false;
  if (r.type != kNone) {
    if (origins) return invalid("explicit parent and origins");
    t = Target{doc_type[r.type], r.key == kNone ? kNone : doc_key[r.key], false};
    known = true;
  } else if (r.parent_client != kNone) {
    if (origins) return invalid("explicit parent and origins");
    auto nested = nested_type(r.parent_client, r.parent_clock);
    if (!nested.ok()) return nested.status();
    t = Target{*nested, r.key == kNone ? kNone : doc_key[r.key], false};
    known = true;
  } else if (!origins) {
    return invalid("item without parent");
  }
  // the effective origin: the unit before when only a suffix of the record is new
  if (offset > 0 || r.origin_client != kNone) {
    Target o = offset > 0 ? target(r.client, r.clock + offset - 1) : target(r.origin_client, r.origin_clock);
    if (!o.seq) return invalid("origin is not a sequence item");
    if (known && (o.type != t.type || o.key != t.key)) return invalid("origin in another parent");
    t = o;
    known = true;
  }
  if (r.right_client != kNone) {
    Target rt = target(r.right_client, r.right_clock);
    if (!rt.seq) return invalid("right origin is not a sequence item");
    if (known && (rt.type != t.type || rt.key != t.key)) return invalid("origins in different parents");
    t = rt;
  }
  return t;
}

Status Planner::check_kind(const Rec& r, const Target& t) const {
  if (r.kind == Kind::kMark) return {};
  const TypeKind k = kind_of(t.type);
  const bool origins = r.origin_client != kNone || r.right_client != kNone;
  const bool one = r.len == 1;
  bool ok = false;
  switch (r.kind) {
    case Kind::kText: ok = k == TypeKind::kText; break;
    case Kind::kValues: ok = k == TypeKind::kList || (k == TypeKind::kMap && one); break;
    case Kind::kDeleted:
      ok = k == TypeKind::kText || k == TypeKind::kList || (k == TypeKind::kMap && one) ||
           (k == TypeKind::kSet && one && !origins);
      break;
    case Kind::kCounter: ok = k == TypeKind::kCounter && !origins; break;
    case Kind::kElem: ok = k == TypeKind::kSet && !origins; break;
    case Kind::kType:
      ok = (k == TypeKind::kList || (k == TypeKind::kMap && one)) && depth_of(t.type) < kDepthMax;
      break;
    case Kind::kMark: break;
  }
  if (!ok) return invalid("item kind does not fit its parent type");
  if ((k == TypeKind::kMap) != (t.key != kNone)) return invalid("map items need a key, others none");
  return {};
}

std::uint32_t Planner::unmet(const Rec& r, std::uint32_t offset) const {
  if (offset == 0 && r.origin_client != kNone && r.origin_clock >= vclock[r.origin_client]) return r.origin_client;
  if (r.right_client != kNone && r.right_clock >= vclock[r.right_client]) return r.right_client;
  if (r.parent_client != kNone && r.parent_clock >= vclock[r.parent_client]) return r.parent_client;
  return kNone;
}

// Plans client c's records, first planning any other client a record depends on (explicit
// stack: dependency chains may be as long as the update).
Status Planner::plan_client(std::uint32_t c) {
  std::vector<std::uint32_t> stack{c};
  in_stack[c] = 1;
  while (!stack.empty()) {
    const std::uint32_t k = stack.back();
    auto& q = queue[k];
    while (next[k] < q.size() && u.recs[q[next[k]]].clock + u.recs[q[next[k]]].len <= vclock[k]) ++next[k];
    if (blocked[k] || next[k] == q.size() || u.recs[q[next[k]]].clock > vclock[k]) {
      if (next[k] < q.size()) blocked[k] = 1;
      in_stack[k] = 0;
      stack.pop_back();
      continue;
    }
    const std::uint32_t ri = q[next[k]];
    const Rec& r = u.recs[ri];
    const std::uint32_t offset = vclock[k] - r.clock;
    const std::uint32_t dep = unmet(r, offset);
    if (dep == kNone) {
      auto t = parent_of(r, offset);
      if (!t.ok()) return t.status();
      NITRO_TRY(check_kind(r, *t));
      res[ri] = Target{t->type, t->key, is_placed(r.kind) && is_sequence(kind_of(t->type))};
      if (r.kind == Kind::kType) {
        vtype[ri] = vbase + static_cast<std::uint32_t>(vkind.size());
        vkind.push_back(static_cast<TypeKind>(r.content));
        vdepth.push_back(depth_of(t->type) + 1);
      }
      order.emplace_back(ri, offset);
      segs[k].push_back(Seg{vclock[k], r.clock + r.len, ri});
      vclock[k] = r.clock + r.len;
      ++next[k];
      if (stack.size() > 1) {  // back to the record that waited for this one
        in_stack[k] = 0;
        stack.pop_back();
      }
      continue;
    }
    if (in_stack[dep] || blocked[dep] || next[dep] == queue[dep].size()) {
      blocked[k] = 1;
      in_stack[k] = 0;
      stack.pop_back();
      continue;
    }
    in_stack[dep] = 1;
    stack.push_back(dep);
  }
  return {};
}

// Clients go in descending id order: concurrent inserts at one place then land at the front of
// their YATA conflict scan (ids order them), so merging n replicas stays linear (as Yjs).
Status Planner::plan() {
  std::vector<std::uint32_t> clients(queue.size());
  for (std::uint32_t c = 0; c < clients.size(); ++c) clients[c] = c;
  std::sort(clients.begin(), clients.end(), [&](auto a, auto b) { return u.clients[a] > u.clients[b]; });
  for (std::uint32_t c : clients) NITRO_TRY(plan_client(c));
  return {};
}

// ---- commit phase ----

std::uint32_t chain_start(const DocState& d, const Item& x) {
  const SharedType& t = d.types[x.type];
  if (x.key == kNone) return t.start;
  auto it = t.heads.find(x.key);
  return it == t.heads.end() ? kNone : it->second;
}

bool same_ref(std::uint32_t c1, std::uint32_t k1, std::uint32_t c2, std::uint32_t k2) {
  return c1 == c2 && (c1 == kNone || k1 == k2);
}

// YATA: among items between origin and right origin, find the one to insert after (as Yjs).
std::uint32_t yata_left(DocState& d, std::uint32_t j, std::uint32_t left, std::uint32_t right) {
  const Item& x = d.items[j];
  const bool need = left == kNone ? (right == kNone || d.items[right].left != kNone) : d.items[left].right != right;
  if (!need) return left;
  std::uint32_t o = left != kNone ? d.items[left].right : chain_start(d, x);
  auto& before = d.scratch_before;
  auto& conflicting = d.scratch_conflicting;
  before.clear();
  conflicting.clear();
  const ClientId xid = d.clients[x.client].id;
  while (o != kNone && o != right) {
    before.insert(o);
    conflicting.insert(o);
    const Item& y = d.items[o];
    if (same_ref(x.origin_client, x.origin_clock, y.origin_client, y.origin_clock)) {
      if (d.clients[y.client].id < xid) {
        left = o;
        conflicting.clear();
      } else if (same_ref(x.right_client, x.right_clock, y.right_client, y.right_clock)) {
        break;
      }
    } else if (y.origin_client != kNone && before.count(d.find_item(y.origin_client, y.origin_clock))) {
      if (!conflicting.count(d.find_item(y.origin_client, y.origin_clock))) {
        left = o;
        conflicting.clear();
      }
    } else {
      break;
    }
    o = y.right;
  }
  return left;
}

void link_after(DocState& d, std::uint32_t j, std::uint32_t left) {
  Item& x = d.items[j];
  SharedType& t = d.types[x.type];
  std::uint32_t r;
  if (left != kNone) {
    r = d.items[left].right;
    d.items[left].right = j;
  } else {
    r = chain_start(d, x);
    if (x.key == kNone) t.start = j; else t.heads[x.key] = j;
  }
  x.left = left;
  x.right = r;
  if (r != kNone) {
    d.items[r].left = j;
  } else if (x.key != kNone) {  // the newest value of its key; the previous one is overwritten
    t.entries[d.keys[x.key]] = j;
    if (left != kNone) d.mark_deleted(left);
  }
  if (x.key == kNone && x.visible()) t.length += x.len;
  if (x.key != kNone && r != kNone) d.mark_deleted(j);
}

void integrate(DocState& d, const Update& u, const Rec& r, std::uint32_t offset, const Target& t,
               std::uint32_t new_type) {
  Item x;
  x.client = d.client_index(u.clients[r.client]);
  x.clock = r.clock + offset;
  x.len = r.len - offset;
  x.kind = r.kind;
  x.deleted = r.kind == Kind::kDeleted;
  x.type = t.type;
  x.key = t.key;
  if (offset > 0) {
    x.origin_client = x.client;
    x.origin_clock = x.clock - 1;
  } else if (r.origin_client != kNone) {
    x.origin_client = d.client_index(u.clients[r.origin_client]);
    x.origin_clock = r.origin_clock;
  }
  if (r.right_client != kNone) {
    x.right_client = d.client_index(u.clients[r.right_client]);
    x.right_clock = r.right_clock;
  }
  std::uint32_t left = kNone, right = kNone;
  if (t.seq) {
    if (x.right_client != kNone) right = d.clean_start(x.right_client, x.right_clock);
    if (x.origin_client != kNone) left = d.clean_end(x.origin_client, x.origin_clock);
  }
  if (x.kind == Kind::kText) {
    x.content = static_cast<std::uint32_t>(d.text.size());
    d.text.append(u.text, r.content + offset, x.len);
  } else if (x.kind == Kind::kValues || x.kind == Kind::kCounter || x.kind == Kind::kElem) {
    x.content = static_cast<std::uint32_t>(d.values.size());
    d.values.insert(d.values.end(), u.values.begin() + r.content + offset, u.values.begin() + r.content + r.len);
  } else if (x.kind == Kind::kType) {
    x.content = d.new_nested(static_cast<TypeKind>(r.content), x.type, x.client, x.clock);
    assert(x.content == new_type);  // the index the plan gave it
  }
  (void)new_type;
  const std::uint32_t j = d.alloc(x);
  Client& client = d.clients[x.client];
  client.index.append(j, x.clock);
  client.clock = x.end();
  if (t.seq) {
    link_after(d, j, yata_left(d, j, left, right));
    d.merge_left(j);
  } else if (x.kind == Kind::kCounter) {
    auto& counter = d.types[x.type].counter;
    counter = static_cast<std::int64_t>(static_cast<std::uint64_t>(counter) +
                                        static_cast<std::uint64_t>(d.values[x.content].as<std::int64_t>()));
  } else if (x.kind == Kind::kElem) {
    d.types[x.type].elems[codec::encode(d.values[x.content])].push_back(j);
  }
}

bool delete_range(DocState& d, std::uint32_t c, Range r) {
  bool changed = false;
  const std::uint32_t end = r.clock + r.len;
  for (std::uint32_t clock = r.clock; clock < end;) {
    const std::uint32_t i = d.clean_start(c, clock);
    if (d.items[i].end() > end) d.split(i, end - d.items[i].clock);
    clock = d.items[i].end();
    if (d.mark_deleted(i)) {
      changed = true;
      d.merge_left(i);
    }
  }
  if (end < d.clients[c].clock) {  // the run after the range may now continue a tombstone
    const std::uint32_t j = d.find_item(c, end);
    if (d.items[j].clock == end) d.merge_left(j);
  }
  return changed;
}

}  // namespace

namespace {

template <typename T>
std::uint32_t intern(std::map<T, std::uint32_t>& index, std::vector<T>& table, const T& v) {
  auto [it, fresh] = index.try_emplace(v, static_cast<std::uint32_t>(table.size()));
  if (fresh) table.push_back(v);
  return it->second;
}

std::uint64_t units(const Update& u) {
  std::uint64_t n = 0;
  for (const Rec& r : u.recs) n += r.len;
  for (const auto& [c, r] : u.deletes) n += r.len;
  return n;
}

// The records and ranges that stay pending: not integrated, not already covered, deduplicated.
Update leftovers(const Update& u, const Planner& p, const std::vector<std::uint8_t>& planned,
                 const std::vector<std::pair<std::uint32_t, Range>>& ranges) {
  Update out;
  out.clients = u.clients;
  out.types = u.types;
  out.keys = u.keys;
  for (std::uint32_t c = 0; c < p.queue.size(); ++c) {
    std::uint32_t covered = p.vclock[c];
    for (std::uint32_t ri : p.queue[c]) {
      const Rec& r = u.recs[ri];
      if (planned[ri] || r.clock + r.len <= covered) continue;
      Rec copy = r;
      if (r.kind == Kind::kText) {
        copy.content = static_cast<std::uint32_t>(out.text.size());
        out.text.append(u.text, r.content, r.len);
      } else if (r.kind == Kind::kValues || r.kind == Kind::kCounter || r.kind == Kind::kElem) {
        copy.content = static_cast<std::uint32_t>(out.values.size());
        out.values.insert(out.values.end(), u.values.begin() + r.content, u.values.begin() + r.content + r.len);
      }
      out.recs.push_back(copy);
      covered = std::max(covered, r.clock + r.len);
    }
  }
  out.deletes = ranges;
  return out;
}

}  // namespace

void absorb(Update& dst, const Update& src) {
  std::map<ClientId, std::uint32_t> clients;
  std::map<std::pair<TypeKind, std::string>, std::uint32_t> types;
  std::map<std::string, std::uint32_t> keys;
  for (std::uint32_t i = 0; i < dst.clients.size(); ++i) clients[dst.clients[i]] = i;
  for (std::uint32_t i = 0; i < dst.types.size(); ++i) types[dst.types[i]] = i;
  for (std::uint32_t i = 0; i < dst.keys.size(); ++i) keys[dst.keys[i]] = i;
  std::vector<std::uint32_t> cmap, tmap, kmap;
  for (ClientId c : src.clients) cmap.push_back(intern(clients, dst.clients, c));
  for (const auto& t : src.types) tmap.push_back(intern(types, dst.types, t));
  for (const auto& k : src.keys) kmap.push_back(intern(keys, dst.keys, k));
  const auto text_base = static_cast<std::uint32_t>(dst.text.size());
  const auto value_base = static_cast<std::uint32_t>(dst.values.size());
  dst.text += src.text;
  dst.values.insert(dst.values.end(), src.values.begin(), src.values.end());
  for (Rec r : src.recs) {
    r.client = cmap[r.client];
    if (r.origin_client != kNone) r.origin_client = cmap[r.origin_client];
    if (r.right_client != kNone) r.right_client = cmap[r.right_client];
    if (r.type != kNone) r.type = tmap[r.type];
    if (r.key != kNone) r.key = kmap[r.key];
    if (r.parent_client != kNone) r.parent_client = cmap[r.parent_client];
    if (r.kind == Kind::kText) r.content += text_base;
    if (r.kind == Kind::kValues || r.kind == Kind::kCounter || r.kind == Kind::kElem) r.content += value_base;
    dst.recs.push_back(r);
  }
  for (auto [c, range] : src.deletes) dst.deletes.emplace_back(cmap[c], range);
}

Status apply_decoded(DocState& d, Update&& in, bool* changed) {
  Update u;
  if (d.pending.recs.empty() && d.pending.deletes.empty()) {
    u = std::move(in);
  } else {
    u = d.pending;
    absorb(u, in);
  }
  Planner p(d, u);
  NITRO_TRY(p.plan());
  std::vector<std::uint8_t> planned(u.recs.size(), 0);
  std::uint64_t pending_recs = u.recs.size();
  for (auto [ri, off] : p.order) planned[ri] = 1, --pending_recs;
  std::vector<std::pair<std::uint32_t, Range>> now, later;
  for (const Rec& r : u.recs) {  // a deleted record deletes the units the doc already had
    if (r.kind == Kind::kDeleted && r.clock < p.base[r.client]) {
      now.emplace_back(r.client, Range{r.clock, std::min(r.len, p.base[r.client] - r.clock)});
    }
  }
  for (const auto& [c, r] : u.deletes) {
    const std::uint32_t known = p.vclock[c];
    if (r.clock < known) now.emplace_back(c, Range{r.clock, std::min(r.len, known - r.clock)});
    if (r.clock + r.len > known) {
      const std::uint32_t from = std::max(r.clock, known);
      later.emplace_back(c, Range{from, r.clock + r.len - from});
    }
  }
  later = normalized(std::move(later));
  if (pending_recs > d.limits.pending_items_max || later.size() > d.limits.pending_ranges_max) {
    return resource_exhausted("crdt: too many updates waiting for missing dependencies");
  }
  // Commit: nothing below can fail.
  p.create_tables();
  for (auto& t : d.types) t.markers.clear();
  for (auto [ri, off] : p.order) integrate(d, u, u.recs[ri], off, p.res[ri], p.vtype[ri]);
  bool deleted = false;
  for (const auto& [c, r] : now) deleted |= delete_range(d, d.client_index(u.clients[c]), r);
  Update rest = leftovers(u, p, planned, later);
  const std::uint64_t rest_units = units(rest);
  *changed = !p.order.empty() || deleted || rest_units > d.pending_units;
  d.pending_units = rest_units;
  d.pending = rest.recs.empty() && rest.deletes.empty() ? Update{} : std::move(rest);
  return {};
}

}  // namespace nitro::crdt::detail
