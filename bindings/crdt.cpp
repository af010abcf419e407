// Embind glue for crdt::Doc. Glue only: calls take plain numbers and strings and return a status
// code (0 = ok; the error itself from lastError()) so per-keystroke edits allocate no JS objects.
// Type handles are small integers indexing this wrapper's handle tables.
#include <malloc.h>

#include <cmath>
#include <optional>

#include <map>
#include <string>
#include <vector>

#include "bytes.h"
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
  bool remote_changed_ = false;
  Status last_;
};

// ---- document sync on a node (crdt::DocSync, attached to a NodeCore under "doc.sync") ----------
// Conversion only: the protocol's logic is in core/src/crdt/docsync.cpp. Errors are values.

crdt::DocSync* doc_sync_of(NodeCore& core) {
  return dynamic_cast<crdt::DocSync*>(core.node().protocol(crdt::DocSync::kChannel));
}

// A JS number that is a non-negative safe integer, else nullopt (NaN, fractions, out of range).
std::optional<std::uint64_t> safe_uint(const val& x) {
  if (!x.isNumber()) return std::nullopt;
  const double d = x.as<double>();
  if (!(d >= 0 && d <= 9007199254740991.0) || std::trunc(d) != d) return std::nullopt;
  return static_cast<std::uint64_t>(d);
}

Status uint_field(const val& opts, const char* key, std::uint64_t& out) {
  const val x = opts[key];
  if (x.isUndefined()) return {};
  auto v = safe_uint(x);
  if (!v) return invalid_argument(std::string("doc sync: ") + key + " must be a non-negative safe integer");
  out = *v;
  return {};
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
  std::uint64_t peers = o.anti_entropy_peers, compact = o.compact_every;
  for (auto s : {uint_field(opts, "antiEntropyMs", o.anti_entropy_ms), uint_field(opts, "antiEntropyPeers", peers),
                 uint_field(opts, "compactEvery", compact)}) {
    if (!s.ok()) return error_to_js(s);
  }
  o.anti_entropy_peers = static_cast<std::size_t>(peers);
  o.compact_every = static_cast<std::size_t>(compact);
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
