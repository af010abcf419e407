// Embind glue for crdt::Doc. Glue only: calls take plain numbers and strings and return a status
// code (0 = ok; the error itself from lastError()) so per-keystroke edits allocate no JS objects.
// Type handles are small integers indexing this wrapper's handle tables.
#include <malloc.h>

#include <map>
#include <string>
#include <vector>

#include "convert.h"
#include "node_core.h"
#include "nitro/crdt.h"
#include "nitro/docsync.h"

namespace nitro::bind {
namespace {

class CrdtDoc {
 public:
  explicit CrdtDoc(double client) : doc_(static_cast<crdt::ClientId>(client)) {}

  double clientId() const { return static_cast<double>(doc_.client_id()); }
  // With listeners on the JS side, local updates are captured and remote changes noted; without,
  // no handler is installed and commits skip encoding updates altogether.
  void setCapture(bool on) {
    if (!on) {
      doc_.set_update_handler(nullptr);
      return;
    }
    doc_.set_update_handler([this](std::span<const std::uint8_t> u, std::uint64_t origin) {
      if (origin == kRemote) {
        remote_changed_ = true;
      } else {
        captured_.emplace_back(u.begin(), u.end());
      }
    });
  }
  val takeUpdates() {
    if (captured_.empty()) return val::null();
    val out = val::array();
    for (std::size_t i = 0; i < captured_.size(); ++i) out.set(i, bytes_to_js(captured_[i]));
    captured_.clear();
    return out;
  }
  val lastError() const { return error_to_js(last_); }

  // Observing: with observers on the JS side, every transaction's changes are converted and queued
  // here (takeChanges drains them) in the order the core reported them.
  void setObserve(bool on) {
    if (!on) {
      doc_.set_change_handler(nullptr);
      return;
    }
    doc_.set_change_handler([this](const crdt::Changes& c) { changes_.push_back(changes_to_js(c)); });
  }
  val takeChanges() {
    if (changes_.empty()) return val::null();
    val out = val::array();
    for (std::size_t i = 0; i < changes_.size(); ++i) out.set(i, changes_[i]);
    changes_.clear();
    return out;
  }
  // The core type id behind a handle of kind `kind` (0 text .. 4 set).
  double typeId(int kind, int h) const {
    switch (kind) {
      case 0: return texts_.at(h).id();
      case 1: return lists_.at(h).id();
      case 2: return maps_.at(h).id();
      case 3: return counters_.at(h).id();
      default: return sets_.at(h).id();
    }
  }
  // {client, clock, assoc} or {assoc} (type start/end), or an error value.
  val relativePosition(double type, double index, int assoc) {
    auto p = doc_.relative_position(static_cast<std::uint32_t>(type), CrdtDoc::index(index), assoc);
    if (!p.ok()) return error_to_js(p.status());
    val o = val::object();
    if (p->item) {
      o.set("client", static_cast<double>(p->item->client));
      o.set("clock", static_cast<double>(p->item->clock));
    }
    o.set("assoc", p->assoc);
    return o;
  }
  // The index, or -1 when the anchor is unknown here.
  double resolve(double type, const val& pos) const {
    crdt::RelativePosition p;
    p.assoc = pos["assoc"].isNumber() ? pos["assoc"].as<int>() : 0;
    if (pos["client"].isNumber() && pos["clock"].isNumber()) {
      auto client = safe_u64(pos["client"]);
      auto clock = safe_u64(pos["clock"]);
      if (!client || !clock || *clock > crdt::kClockMax) return -1;
      p.item = crdt::ItemId{*client, static_cast<std::uint32_t>(*clock)};
    }
    auto n = doc_.resolve(static_cast<std::uint32_t>(type), p);
    return n ? static_cast<double>(*n) : -1;
  }
  double rank(double type, double client, double clock) const {
    auto c = safe_u64(client);
    auto k = safe_u64(clock);
    if (!c || !k || *k > crdt::kClockMax) return -1;
    auto n = doc_.rank(static_cast<std::uint32_t>(type), crdt::ItemId{*c, static_cast<std::uint32_t>(*k)});
    return n ? static_cast<double>(*n) : -1;
  }
  int eraseIds(double type, double client, double clock, double len) {
    auto c = safe_u64(client);
    auto k = safe_u64(clock);
    auto n = safe_u64(len);
    if (!c || !k || !n || *k > crdt::kClockMax || *n > crdt::kClockMax) return rc(invalid_argument("eraseIds: bad id"));
    return rc(doc_.erase_ids(static_cast<std::uint32_t>(type), crdt::ItemId{*c, static_cast<std::uint32_t>(*k)},
                             static_cast<std::uint32_t>(*n)));
  }
  val mapEntryId(double type, const std::string& key) const {
    auto id = doc_.map_entry_id(static_cast<std::uint32_t>(type), key);
    if (!id) return val::null();
    val o = val::object();
    o.set("client", static_cast<double>(id->client));
    o.set("clock", static_cast<double>(id->clock));
    return o;
  }
  // {parent: packed handle, key} or {parent, index} (index absent when deleted); null for roots.
  val parentOf(double type) {
    auto p = doc_.parent_of(static_cast<std::uint32_t>(type));
    if (!p) return val::null();
    val o = val::object();
    o.set("parent", packed_of(p->parent));
    if (p->key) o.set("key", *p->key);
    if (p->index) o.set("index", static_cast<double>(*p->index));
    return o;
  }

  int text(const std::string& name) { return add(texts_, doc_.get_text(name)); }
  int list(const std::string& name) { return add(lists_, doc_.get_list(name)); }
  int map(const std::string& name) { return add(maps_, doc_.get_map(name)); }
  int counter(const std::string& name) { return add(counters_, doc_.get_counter(name)); }
  int set(const std::string& name) { return add(sets_, doc_.get_set(name)); }

  // Nested types: results pack (kind << 24 | handle); negative = -(error code) or -1 for none.
  int mapSetType(int h, const std::string& key, int kind) {
    if (kind < 0 || kind > 4) return -rc(invalid_argument("unknown shared type kind"));
    auto n = maps_.at(h).set_nested(key, static_cast<crdt::SharedKind>(kind));
    return n.ok() ? nested(*n) : -rc(n.status());
  }
  int mapGetType(int h, const std::string& key) {
    auto n = maps_.at(h).get_nested(key);
    return n ? nested(*n) : -1;
  }
  int listInsertType(int h, double i, int kind) {
    if (kind < 0 || kind > 4) return -rc(invalid_argument("unknown shared type kind"));
    auto n = lists_.at(h).insert_nested(index(i), static_cast<crdt::SharedKind>(kind));
    return n.ok() ? nested(*n) : -rc(n.status());
  }
  int listGetType(int h, double i) {
    auto n = lists_.at(h).get_nested(index(i));
    return n ? nested(*n) : -1;
  }

  int textInsert(int h, double pos, const std::string& s) { return rc(texts_.at(h).insert(index(pos), s)); }
  // One UTF-16 unit (a keystroke) passed as a number: no string marshalling.
  int textInsertUnit(int h, double pos, int unit) {
    const char16_t u = static_cast<char16_t>(unit);
    return rc(texts_.at(h).insert_utf16(index(pos), std::u16string_view(&u, 1)));
  }
  int textDelete(int h, double pos, double n) { return rc(texts_.at(h).erase(index(pos), index(n))); }
  double textLength(int h) const { return static_cast<double>(texts_.at(h).length()); }
  std::string textToString(int h) const { return texts_.at(h).to_string(); }

  int listInsert(int h, double i, const val& items) {
    const auto n = items["length"].as<std::size_t>();
    std::vector<Value> values;
    values.reserve(n);
    for (std::size_t k = 0; k < n; ++k) {
      auto v = value_from_js(items[k]);
      if (!v.ok()) return rc(v.status());
      values.push_back(std::move(*v));
    }
    return rc(lists_.at(h).insert(index(i), values));
  }
  int listDelete(int h, double i, double n) { return rc(lists_.at(h).erase(index(i), index(n))); }
  double listLength(int h) const { return static_cast<double>(lists_.at(h).length()); }
  val listGet(int h, double i) const {
    auto v = lists_.at(h).get(index(i));
    return v ? value_to_js(*v) : val::undefined();
  }
  val listToArray(int h) const { return value_to_js(Value{lists_.at(h).to_array()}); }

  int mapSet(int h, const std::string& key, const val& v) {
    auto value = value_from_js(v);
    if (!value.ok()) return rc(value.status());
    return rc(maps_.at(h).set(key, *value));
  }
  int mapDelete(int h, const std::string& key) { return rc(maps_.at(h).erase(key)); }
  val mapGet(int h, const std::string& key) const {
    const Value* v = maps_.at(h).get(key);
    return v ? value_to_js(*v) : val::undefined();
  }
  bool mapHas(int h, const std::string& key) const { return maps_.at(h).get(key) != nullptr; }
  val mapKeys(int h) const {
    val out = val::array();
    auto keys = maps_.at(h).keys();
    for (std::size_t i = 0; i < keys.size(); ++i) out.set(i, keys[i]);
    return out;
  }
  val mapToJSON(int h) const { return value_to_js(Value{maps_.at(h).to_map()}); }

  int counterIncrement(int h, double delta) { return rc(counters_.at(h).increment(static_cast<std::int64_t>(delta))); }
  double counterValue(int h) const { return static_cast<double>(counters_.at(h).value()); }

  int setAdd(int h, const val& v) { return with_value(v, [&](const Value& x) { return sets_.at(h).add(x); }); }
  int setDelete(int h, const val& v) { return with_value(v, [&](const Value& x) { return sets_.at(h).erase(x); }); }
  bool setHas(int h, const val& v) const {
    auto value = value_from_js(v);
    return value.ok() && sets_.at(h).has(*value);
  }
  val setValues(int h) const { return value_to_js(Value{sets_.at(h).values()}); }
  double setSize(int h) const { return static_cast<double>(sets_.at(h).size()); }

  void begin() { doc_.begin(kLocal); }
  void commit() { doc_.commit(); }
  val encodeState() const { return bytes_to_js(doc_.encode_state()); }
  val encodeStateVector() const { return bytes_to_js(doc_.encode_state_vector()); }
  val encodeStateAsUpdate(const val& sv) const {
    auto u = doc_.encode_state_as_update(bytes_from_js(sv));
    return u.ok() ? bytes_to_js(*u) : error_to_js(u.status());
  }
  // 0 = applied (changed() says whether anything was new), else an error code (see lastError()).
  int applyUpdate(const val& bytes) {
    remote_changed_ = false;
    return rc(doc_.apply_update(bytes_from_js(bytes), kRemote));
  }
  bool changed() const { return remote_changed_; }
  int setSigner(const val& sk) { return rc(doc_.set_signer(bytes_from_js(sk))); }
  int restrictWriters(const val& keys) {
    std::vector<std::vector<std::uint8_t>> list;
    const auto n = keys["length"].as<std::size_t>();
    for (std::size_t i = 0; i < n; ++i) list.push_back(bytes_from_js(keys[i]));
    return rc(doc_.restrict_writers(list));
  }
  double itemCount() const { return static_cast<double>(doc_.item_count()); }
  crdt::Doc& doc() { return doc_; }

 private:
  static constexpr std::uint64_t kLocal = 0, kRemote = 1;

  int packed_of(std::uint32_t type) { return nested(crdt::Nested{doc_.kind_of(type), type}); }

  static val units_to_js(const std::u16string& units) {  // exact, lone surrogates included
    val out = val::global("Uint16Array").new_(units.size());
    for (std::size_t i = 0; i < units.size(); ++i) out.set(i, static_cast<int>(units[i]));
    return out;
  }
  val run_to_js(const crdt::ChangedRun& r, bool content) {
    val o = val::object();
    o.set("type", packed_of(r.type));
    o.set("client", static_cast<double>(r.id.client));
    o.set("clock", static_cast<double>(r.id.clock));
    o.set("len", static_cast<double>(r.len));
    if (r.key) o.set("key", *r.key);
    if (content && doc_.kind_of(r.type) == crdt::SharedKind::kText) o.set("text", units_to_js(r.text));
    if (content && doc_.kind_of(r.type) != crdt::SharedKind::kText) o.set("values", value_to_js(Value{r.values}));
    return o;
  }
  val delta_to_js(const std::vector<crdt::DeltaOp>& delta, bool text) {
    val out = val::array();
    for (std::size_t i = 0; i < delta.size(); ++i) {
      const auto& op = delta[i];
      val o = val::object();
      if (op.op == crdt::DeltaOp::Op::kRetain) o.set("retain", static_cast<double>(op.len));
      if (op.op == crdt::DeltaOp::Op::kDelete) o.set("delete", static_cast<double>(op.len));
      if (op.op == crdt::DeltaOp::Op::kInsert) o.set("insert", text ? units_to_js(op.text) : value_to_js(Value{op.values}));
      out.set(i, o);
    }
    return out;
  }
  val keys_to_js(const std::vector<crdt::KeyChange>& keys) {
    static constexpr const char* kActions[] = {"add", "update", "delete"};
    val out = val::array();
    for (std::size_t i = 0; i < keys.size(); ++i) {
      val o = val::object();
      o.set("key", keys[i].key);
      o.set("action", std::string(kActions[static_cast<int>(keys[i].action)]));
      if (keys[i].old_value) o.set("oldValue", value_to_js(*keys[i].old_value));
      out.set(i, o);
    }
    return out;
  }
  val changes_to_js(const crdt::Changes& c) {
    val o = val::object();
    o.set("local", c.local);
    val types = val::array();
    for (std::size_t i = 0; i < c.types.size(); ++i) {
      const auto& t = c.types[i];
      val e = val::object();
      e.set("type", packed_of(t.type));
      e.set("delta", delta_to_js(t.delta, t.kind == crdt::SharedKind::kText));
      e.set("keys", keys_to_js(t.keys));
      types.set(i, e);
    }
    o.set("types", types);
    val inserted = val::array(), removed = val::array();
    for (std::size_t i = 0; i < c.inserted.size(); ++i) inserted.set(i, run_to_js(c.inserted[i], false));
    for (std::size_t i = 0; i < c.removed.size(); ++i) removed.set(i, run_to_js(c.removed[i], true));
    o.set("inserted", inserted);
    o.set("removed", removed);
    return o;
  }

  template <typename T> int add(std::vector<T>& table, T handle) {  // one handle per type
    auto [it, fresh] = handles_.try_emplace(handle.id(), static_cast<int>(table.size()));
    if (fresh) table.push_back(handle);
    return it->second;
  }
  int nested(crdt::Nested n) {
    int h = 0;
    switch (n.kind) {
      case crdt::SharedKind::kText: h = add(texts_, doc_.text(n)); break;
      case crdt::SharedKind::kList: h = add(lists_, doc_.list(n)); break;
      case crdt::SharedKind::kMap: h = add(maps_, doc_.map(n)); break;
      case crdt::SharedKind::kCounter: h = add(counters_, doc_.counter(n)); break;
      case crdt::SharedKind::kSet: h = add(sets_, doc_.set(n)); break;
    }
    return static_cast<int>(n.kind) << 24 | h;
  }
  // JS validates positions; anything odd that slips through (NaN, negative, huge) becomes an
  // out-of-range index, which the core rejects.
  static std::size_t index(double x) {
    return (x >= 0 && x < static_cast<double>(SIZE_MAX)) ? static_cast<std::size_t>(x) : SIZE_MAX;
  }
  int rc(const Status& s) {
    if (s.ok()) return 0;
    last_ = s;
    return static_cast<int>(s.code());
  }
  template <typename F> int with_value(const val& v, F&& f) {
    auto value = value_from_js(v);
    if (!value.ok()) return rc(value.status());
    return rc(f(*value));
  }

  crdt::Doc doc_;
  std::vector<crdt::Text> texts_;
  std::vector<crdt::List> lists_;
  std::vector<crdt::Map> maps_;
  std::vector<crdt::Counter> counters_;
  std::vector<crdt::Set> sets_;
  std::map<std::uint32_t, int> handles_;  // doc type index -> handle in its kind's table
  std::vector<std::vector<std::uint8_t>> captured_;
  std::vector<val> changes_;
  bool remote_changed_ = false;
  Status last_;
};

// ---- document sync on a node (crdt::DocSync, attached to a NodeCore under "doc.sync") ----------
// Conversion only: the protocol's logic is in core/src/crdt/docsync.cpp. Errors are values.

crdt::DocSync* doc_sync_of(NodeCore& core) {
  return dynamic_cast<crdt::DocSync*>(core.node().protocol(crdt::DocSync::kChannel));
}

// Attaches the node's DocSync once (later calls find it). Returns an error value or undefined.
val doc_sync_attach(NodeCore& core) {
  if (doc_sync_of(core)) return val::undefined();
  auto p = crdt::DocSync::create();
  if (!p.ok()) return error_to_js(p.status());
  Status s = core.node().add_protocol(crdt::DocSync::kChannel, std::move(*p));
  return s.ok() ? val::undefined() : error_to_js(s);
}

// opts: { persist, antiEntropyMs, antiEntropyPeers, compactEvery }; records: [key, bytes][]
val doc_sync_open(NodeCore& core, const std::string& name, CrdtDoc& doc, const val& opts, const val& records) {
  auto* sync = doc_sync_of(core);
  if (!sync) return error_to_js(failed_precondition("doc sync: not attached"));
  crdt::SyncOptions o;
  o.persist = opts["persist"].isTrue();
  if (opts["token"].isString()) o.token = opts["token"].as<std::string>();  // a token id (hex)
  for (auto s : {read_u64_field(opts, "antiEntropyMs", o.anti_entropy_ms),
                 read_u64_field(opts, "antiEntropyPeers", o.anti_entropy_peers),
                 read_u64_field(opts, "compactEvery", o.compact_every)}) {
    if (!s.ok()) return error_to_js(s);
  }
  StoredRecords stored;
  if (!records.isArray()) return error_to_js(invalid_argument("doc sync: records must be an array"));
  const auto n = records["length"].as<std::size_t>();
  for (std::size_t i = 0; i < n; ++i) {
    const val r = records[i];
    if (!r.isArray() || !r[0].isString() || !r[1].instanceof(val::global("Uint8Array"))) {
      return error_to_js(invalid_argument("doc sync: a record is [key string, Uint8Array]"));
    }
    stored[r[0].as<std::string>()] = bytes_from_js(r[1]);
  }
  Status s = sync->open(name, doc.doc(), o, stored);
  return s.ok() ? val::undefined() : error_to_js(s);
}

val doc_sync_local(NodeCore& core, const std::string& name, const val& update) {
  auto* sync = doc_sync_of(core);
  if (!sync) return error_to_js(failed_precondition("doc sync: not attached"));
  if (!update.instanceof(val::global("Uint8Array"))) return error_to_js(invalid_argument("doc sync: an update is a Uint8Array"));
  Status s = sync->local_update(name, bytes_from_js(update));
  return s.ok() ? val::undefined() : error_to_js(s);
}

val doc_sync_now(NodeCore& core, const std::string& name) {
  auto* sync = doc_sync_of(core);
  if (!sync) return error_to_js(failed_precondition("doc sync: not attached"));
  Status s = sync->sync_now(name);
  return s.ok() ? val::undefined() : error_to_js(s);
}

void doc_sync_close(NodeCore& core, const std::string& name) {
  if (auto* sync = doc_sync_of(core)) sync->close(name);
}

val doc_sync_stats(NodeCore& core, const std::string& name) {
  auto* sync = doc_sync_of(core);
  const crdt::DocSyncStats* st = sync ? sync->stats(name) : nullptr;
  if (!st) return val::undefined();
  val o = val::object();
  o.set("published", static_cast<double>(st->published));
  o.set("sentDirect", static_cast<double>(st->sent_direct));
  o.set("publishFailed", static_cast<double>(st->publish_failed));
  o.set("vectorsSent", static_cast<double>(st->vectors_sent));
  o.set("deltasSent", static_cast<double>(st->deltas_sent));
  o.set("applied", static_cast<double>(st->applied));
  o.set("rejected", static_cast<double>(st->rejected));
  o.set("malformed", static_cast<double>(st->malformed));
  o.set("sendFailed", static_cast<double>(st->send_failed));
  o.set("busy", static_cast<double>(st->busy));
  o.set("stored", static_cast<double>(st->stored));
  o.set("compactions", static_cast<double>(st->compactions));
  return o;
}

// Bytes allocated on the wasm heap (benchmarks report memory with it).
double crdt_malloc_bytes() { return static_cast<double>(mallinfo().uordblks); }

}  // namespace
}  // namespace nitro::bind

EMSCRIPTEN_BINDINGS(nitro_crdt) {
  using nitro::bind::CrdtDoc;
  emscripten::function("crdtMallocBytes", &nitro::bind::crdt_malloc_bytes);
  emscripten::function("docSyncAttach", &nitro::bind::doc_sync_attach);
  emscripten::function("docSyncOpen", &nitro::bind::doc_sync_open);
  emscripten::function("docSyncLocal", &nitro::bind::doc_sync_local);
  emscripten::function("docSyncNow", &nitro::bind::doc_sync_now);
  emscripten::function("docSyncClose", &nitro::bind::doc_sync_close);
  emscripten::function("docSyncStats", &nitro::bind::doc_sync_stats);
  emscripten::class_<CrdtDoc>("CrdtDoc")
      .constructor<double>()
      .function("clientId", &CrdtDoc::clientId)
      .function("setCapture", &CrdtDoc::setCapture)
      .function("takeUpdates", &CrdtDoc::takeUpdates)
      .function("lastError", &CrdtDoc::lastError)
      .function("setObserve", &CrdtDoc::setObserve)
      .function("takeChanges", &CrdtDoc::takeChanges)
      .function("typeId", &CrdtDoc::typeId)
      .function("relativePosition", &CrdtDoc::relativePosition)
      .function("resolve", &CrdtDoc::resolve)
      .function("eraseIds", &CrdtDoc::eraseIds)
      .function("rank", &CrdtDoc::rank)
      .function("mapEntryId", &CrdtDoc::mapEntryId)
      .function("parentOf", &CrdtDoc::parentOf)
      .function("text", &CrdtDoc::text)
      .function("list", &CrdtDoc::list)
      .function("map", &CrdtDoc::map)
      .function("counter", &CrdtDoc::counter)
      .function("set", &CrdtDoc::set)
      .function("mapSetType", &CrdtDoc::mapSetType)
      .function("mapGetType", &CrdtDoc::mapGetType)
      .function("listInsertType", &CrdtDoc::listInsertType)
      .function("listGetType", &CrdtDoc::listGetType)
      .function("textInsert", &CrdtDoc::textInsert)
      .function("textInsertUnit", &CrdtDoc::textInsertUnit)
      .function("textDelete", &CrdtDoc::textDelete)
      .function("textLength", &CrdtDoc::textLength)
      .function("textToString", &CrdtDoc::textToString)
      .function("listInsert", &CrdtDoc::listInsert)
      .function("listDelete", &CrdtDoc::listDelete)
      .function("listLength", &CrdtDoc::listLength)
      .function("listGet", &CrdtDoc::listGet)
      .function("listToArray", &CrdtDoc::listToArray)
      .function("mapSet", &CrdtDoc::mapSet)
      .function("mapDelete", &CrdtDoc::mapDelete)
      .function("mapGet", &CrdtDoc::mapGet)
      .function("mapHas", &CrdtDoc::mapHas)
      .function("mapKeys", &CrdtDoc::mapKeys)
      .function("mapToJSON", &CrdtDoc::mapToJSON)
      .function("counterIncrement", &CrdtDoc::counterIncrement)
      .function("counterValue", &CrdtDoc::counterValue)
      .function("setAdd", &CrdtDoc::setAdd)
      .function("setDelete", &CrdtDoc::setDelete)
      .function("setHas", &CrdtDoc::setHas)
      .function("setValues", &CrdtDoc::setValues)
      .function("setSize", &CrdtDoc::setSize)
      .function("begin", &CrdtDoc::begin)
      .function("commit", &CrdtDoc::commit)
      .function("encodeState", &CrdtDoc::encodeState)
      .function("encodeStateVector", &CrdtDoc::encodeStateVector)
      .function("encodeStateAsUpdate", &CrdtDoc::encodeStateAsUpdate)
      .function("applyUpdate", &CrdtDoc::applyUpdate)
      .function("changed", &CrdtDoc::changed)
      .function("setSigner", &CrdtDoc::setSigner)
      .function("restrictWriters", &CrdtDoc::restrictWriters)
      .function("itemCount", &CrdtDoc::itemCount);
}
