// Observing transactions (per-type deltas, changed map keys, inserted and removed runs), relative
// positions, and id-based deletes for undo.
//
// How a transaction's changes are found (as Yjs computes event.delta): when it begins, the clock of
// every client is noted; units at or above it are new. Every tombstone made during it is recorded
// with its content as it was. At the end, each touched sequence is walked once: a new visible unit
// is an insert, an old visible one a retain, an old one tombstoned during the transaction a delete.
// Tracking runs only while a change handler is set, so documents nobody observes pay nothing.
#include <algorithm>
#include <set>

#include "crdt/auth.h"
#include "crdt/local.h"
#include "crdt/state.h"

namespace nitro::crdt {
namespace detail {
namespace {

using Gone = std::map<std::uint32_t, std::map<std::uint32_t, std::uint32_t>>;  // client -> clock -> len

std::uint32_t before_of(const Tracking& t, std::uint32_t client) {
  return client < t.before.size() ? t.before[client] : 0;
}

// Units of [lo, hi) inside the recorded ranges of one client.
std::uint32_t overlap(const Gone& gone, std::uint32_t client, std::uint32_t lo, std::uint32_t hi) {
  auto c = gone.find(client);
  if (c == gone.end()) return 0;
  const auto& ranges = c->second;
  auto it = ranges.upper_bound(lo);
  if (it != ranges.begin()) --it;
  std::uint32_t n = 0;
  for (; it != ranges.end() && it->first < hi; ++it) {
    const std::uint32_t a = std::max(lo, it->first), b = std::min(hi, it->first + it->second);
    if (a < b) n += b - a;
  }
  return n;
}

void push_op(std::vector<DeltaOp>& ops, DeltaOp::Op op, std::uint32_t len) {
  if (!ops.empty() && ops.back().op == op) {
    ops.back().len += len;
    return;
  }
  ops.push_back(DeltaOp{op, len, {}, {}});
}

void push_insert(const DocState& d, std::vector<DeltaOp>& ops, const Item& x, std::uint32_t from) {
  if (ops.empty() || ops.back().op != DeltaOp::Op::kInsert) ops.push_back(DeltaOp{DeltaOp::Op::kInsert, 0, {}, {}});
  DeltaOp& op = ops.back();
  const std::uint32_t n = x.len - from;
  op.len += n;
  if (x.kind == Kind::kText) {
    op.text.append(d.text, x.content + from, n);
  } else {
    for (std::uint32_t k = from; k < x.len; ++k) op.values.push_back(item_value(d, x, k));
  }
}

std::vector<DeltaOp> sequence_delta(const DocState& d, const Tracking& t, const Gone& gone, std::uint32_t type) {
  std::vector<DeltaOp> ops;
  for (std::uint32_t i = d.types[type].start; i != kNone; i = d.items[i].right) {
    const Item& x = d.items[i];
    const std::uint32_t b = before_of(t, x.client);
    const std::uint32_t old_len = b <= x.clock ? 0 : std::min(x.len, b - x.clock);
    if (old_len > 0) {
      if (x.visible()) {
        push_op(ops, DeltaOp::Op::kRetain, old_len);
      } else if (std::uint32_t n = overlap(gone, x.client, x.clock, x.clock + old_len); n > 0) {
        push_op(ops, DeltaOp::Op::kDelete, n);
      }
    }
    if (old_len < x.len && x.visible()) push_insert(d, ops, x, old_len);
  }
  if (!ops.empty() && ops.back().op == DeltaOp::Op::kRetain) ops.pop_back();
  return ops;
}

std::optional<KeyChange> key_change(const DocState& d, const Tracking& t, const Gone& gone, std::uint32_t type,
                                    const std::string& key) {
  const SharedType& st = d.types[type];
  auto k = d.key_of.find(key);
  if (k == d.key_of.end()) return std::nullopt;
  auto head = st.heads.find(k->second);
  std::uint32_t old = kNone;
  for (std::uint32_t i = head == st.heads.end() ? kNone : head->second; i != kNone; i = d.items[i].right) {
    const Item& x = d.items[i];
    if (x.clock >= before_of(t, x.client)) continue;
    if (x.visible() || overlap(gone, x.client, x.clock, x.clock + 1) > 0) old = i;
  }
  auto e = st.entries.find(key);
  const std::uint32_t now = e != st.entries.end() && d.items[e->second].visible() ? e->second : kNone;
  if (old == now) return std::nullopt;
  KeyChange c;
  c.key = key;
  c.action = old == kNone ? KeyChange::Action::kAdd : now == kNone ? KeyChange::Action::kDelete : KeyChange::Action::kUpdate;
  if (old != kNone) c.old_value = item_value(d, d.items[old], 0);
  return c;
}

}  // namespace

void track_begin(DocState& d) {
  d.track = Tracking{};
  d.track.active = true;
  d.track.before.reserve(d.clients.size());
  for (const Client& c : d.clients) d.track.before.push_back(c.clock);
}

void track_cancel(DocState& d) { d.track = Tracking{}; }

void track_removed(DocState& d, std::uint32_t item) {
  const Item& x = d.items[item];
  if (x.type == kNone) return;
  const std::uint32_t b = before_of(d.track, x.client);
  if (x.clock >= b) return;  // born in this transaction: nothing to report or restore
  ChangedRun r;
  r.id = ItemId{x.client, x.clock};
  r.len = std::min(x.len, b - x.clock);
  r.type = x.type;
  if (x.key != kNone) r.key = d.keys[x.key];
  if (x.kind == Kind::kText) {
    r.text.assign(d.text, x.content, r.len);
  } else if (x.kind == Kind::kValues || x.kind == Kind::kType || x.kind == Kind::kElem) {
    for (std::uint32_t k = 0; k < r.len; ++k) r.values.push_back(item_value(d, x, k));
  }
  d.track.removed.push_back(std::move(r));
}

void track_finish(DocState& d, std::uint64_t origin, bool local) {
  Tracking t = std::move(d.track);
  d.track = Tracking{};  // the handler may start new transactions
  Changes out;
  out.origin = origin;
  out.local = local;
  Gone gone;
  std::map<std::uint32_t, std::set<std::string>> keys;  // type -> touched map keys
  std::set<std::uint32_t> touched;
  for (ChangedRun& r : t.removed) {
    gone[static_cast<std::uint32_t>(r.id.client)][r.id.clock] = r.len;
    touched.insert(r.type);
    if (r.key) keys[r.type].insert(*r.key);
    r.id.client = d.clients[r.id.client].id;
    out.removed.push_back(std::move(r));
  }
  for (std::uint32_t c = 0; c < d.clients.size(); ++c) {
    const std::uint32_t b = before_of(t, c);
    if (d.clients[c].clock <= b) continue;
    d.clients[c].index.for_each_from(d.items, b, [&](std::uint32_t i) {
      const Item& x = d.items[i];
      if (x.type == kNone) return;
      touched.insert(x.type);
      if (x.key != kNone) keys[x.type].insert(d.keys[x.key]);
      if (!x.visible()) return;
      const std::uint32_t from = std::max(x.clock, b);
      ChangedRun r;
      r.id = ItemId{d.clients[c].id, from};
      r.len = x.end() - from;
      r.type = x.type;
      if (x.key != kNone) r.key = d.keys[x.key];
      out.inserted.push_back(std::move(r));
    });
  }
  for (std::uint32_t type : touched) {
    TypeChange c;
    c.type = type;
    c.kind = static_cast<SharedKind>(d.types[type].kind);
    switch (d.types[type].kind) {
      case TypeKind::kText:
      case TypeKind::kList:
        c.delta = sequence_delta(d, t, gone, type);
        if (c.delta.empty()) continue;
        break;
      case TypeKind::kMap:
        for (const std::string& key : keys[type]) {
          if (auto k = key_change(d, t, gone, type, key)) c.keys.push_back(std::move(*k));
        }
        if (c.keys.empty()) continue;
        break;
      default: break;
    }
    out.types.push_back(std::move(c));
  }
  if (!out.types.empty() && d.on_change) d.on_change(out);
}

}  // namespace detail

using detail::DocState;
using detail::Item;
using detail::kNone;
using detail::TypeKind;

void Doc::set_change_handler(ChangeHandler handler) { d_->on_change = std::move(handler); }

SharedKind Doc::kind_of(std::uint32_t type) const { return static_cast<SharedKind>(d_->types.at(type).kind); }

Result<RelativePosition> Doc::relative_position(std::uint32_t type, std::size_t index, std::int32_t assoc) const {
  DocState& d = *d_;
  if (type >= d.types.size() || (d.types[type].kind != TypeKind::kText && d.types[type].kind != TypeKind::kList)) {
    return invalid_argument("relative positions are for Text and List");
  }
  const std::size_t length = d.types[type].length;
  if (index > length) return invalid_argument("relative position beyond the end");
  RelativePosition p;
  p.assoc = assoc;
  if (assoc < 0 ? index == 0 : index == length) return p;
  const auto target = static_cast<std::uint32_t>(assoc < 0 ? index - 1 : index);
  const detail::Found f = detail::find_visible(d, type, target);
  const Item& x = d.items[f.item];
  p.item = ItemId{d.clients[x.client].id, x.clock + (target - f.pos)};
  return p;
}

std::optional<std::size_t> Doc::resolve(std::uint32_t type, const RelativePosition& pos) const {
  const DocState& d = *d_;
  if (type >= d.types.size()) return std::nullopt;
  if (!pos.item) return pos.assoc < 0 ? 0 : d.types[type].length;
  auto c = d.client_of.find(pos.item->client);
  if (c == d.client_of.end() || pos.item->clock >= d.clients[c->second].clock) return std::nullopt;
  const std::uint32_t i = d.find_item(c->second, pos.item->clock);
  if (i == kNone) return std::nullopt;
  const Item& x = d.items[i];
  if (x.type != type || x.key != kNone) return std::nullopt;
  std::size_t n = 0;
  for (std::uint32_t j = x.left; j != kNone; j = d.items[j].left) {
    if (d.items[j].visible()) n += d.items[j].len;
  }
  if (x.visible()) n += pos.item->clock - x.clock + (pos.assoc < 0 ? 1 : 0);
  return n;
}

std::optional<std::size_t> Doc::rank(std::uint32_t type, ItemId id) const {
  const DocState& d = *d_;
  auto c = d.client_of.find(id.client);
  if (type >= d.types.size() || c == d.client_of.end() || id.clock >= d.clients[c->second].clock) return std::nullopt;
  const std::uint32_t i = d.find_item(c->second, id.clock);
  if (i == kNone || d.items[i].type != type || d.items[i].key != kNone) return std::nullopt;
  std::size_t n = id.clock - d.items[i].clock;
  for (std::uint32_t j = d.items[i].left; j != kNone; j = d.items[j].left) n += d.items[j].len;
  return n;
}

Status Doc::erase_ids(std::uint32_t type, ItemId id, std::uint32_t len) {
  DocState& d = *d_;
  NITRO_TRY(detail::local_write_allowed(d));
  if (type >= d.types.size() || (d.types[type].kind != TypeKind::kText && d.types[type].kind != TypeKind::kList)) {
    return invalid_argument("erase_ids is for Text and List");
  }
  auto c = d.client_of.find(id.client);
  if (c == d.client_of.end() || id.clock >= d.clients[c->second].clock) return {};
  const std::uint32_t client = c->second;
  const std::uint32_t end = std::min<std::uint64_t>(std::uint64_t{id.clock} + len, d.clients[client].clock);
  detail::txn_begin(d, d.txn_depth > 0 ? d.txn_origin : 0);
  for (std::uint32_t clock = id.clock; clock < end;) {
    const std::uint32_t i = d.clean_start(client, clock);
    if (d.items[i].end() > end) d.split(i, end - d.items[i].clock);
    const Item& x = d.items[i];
    clock = x.end();
    if (x.type != type || x.key != kNone || !x.visible()) continue;
    d.note_delete(client, x.clock, x.len);
    d.mark_deleted(i);
  }
  d.types[type].markers.clear();  // positions shifted where no marker update could follow them
  detail::txn_commit(d);
  return {};
}

std::optional<ItemId> Doc::map_entry_id(std::uint32_t type, std::string_view key) const {
  const DocState& d = *d_;
  if (type >= d.types.size()) return std::nullopt;
  auto e = d.types[type].entries.find(std::string(key));
  if (e == d.types[type].entries.end() || !d.items[e->second].visible()) return std::nullopt;
  const Item& x = d.items[e->second];
  return ItemId{d.clients[x.client].id, x.clock};
}

std::optional<ParentLink> Doc::parent_of(std::uint32_t type) const {
  const DocState& d = *d_;
  if (type >= d.types.size() || d.types[type].owner_client == kNone) return std::nullopt;
  const std::uint32_t i = d.find_item(d.types[type].owner_client, d.types[type].owner_clock);
  if (i == kNone) return std::nullopt;
  const Item& x = d.items[i];
  ParentLink p;
  p.parent = x.type;
  if (x.key != kNone) {
    p.key = d.keys[x.key];
  } else if (x.visible()) {
    std::size_t n = d.types[type].owner_clock - x.clock;
    for (std::uint32_t j = x.left; j != kNone; j = d.items[j].left) {
      if (d.items[j].visible()) n += d.items[j].len;
    }
    p.index = n;
  }
  return p;
}

}  // namespace nitro::crdt
