// crdt::Doc: the public API over DocState — type handles, transactions, sync encodings and
// applying (plain, signed and bundled) updates.
#include <algorithm>
#include <cassert>

#include "crdt/auth.h"
#include "crdt/local.h"
#include "crdt/wire.h"
#include "nitro/codec.h"

namespace nitro::crdt {

using detail::DocState;
using detail::Kind;
using detail::kNone;
using detail::TypeKind;

namespace detail {

void txn_begin(DocState& d, std::uint64_t origin) {
  if (d.txn_depth++ > 0) return;
  if (d.on_change) track_begin(d);
  d.txn_origin = origin;
  d.txn_start_clock = d.clients[d.self].clock;
  d.txn_deletes.clear();
}

void retain_envelope(DocState& d, const Bytes& bytes, const Update& u) {
  if (u.recs.empty()) return;
  std::uint32_t start = kClockMax, end = 0;
  for (const Rec& r : u.recs) {
    start = std::min(start, r.clock);
    end = std::max(end, r.clock + r.len);
  }
  const ClientId client = u.clients[u.recs.front().client];
  d.envelopes.try_emplace({client, start}, Envelope{bytes, client, end});
}

void txn_commit(DocState& d) {
  assert(d.txn_depth > 0);
  if (--d.txn_depth > 0) return;
  const bool structs = d.clients[d.self].clock > d.txn_start_clock;
  if (!structs && d.txn_deletes.empty()) {
    track_cancel(d);
    return;
  }
  if (d.signer && !structs) add_mark(d);  // a signed transaction always has a clock range
  // A signed transaction is kept as signed, for relaying to writer-restricted replicas.
  const bool retained = !d.writers.empty() || d.signer.has_value();
  if (d.on_update || retained) {
    const ClientId self = d.clients[d.self].id;
    Update u = state_as_update(d, {{self, d.txn_start_clock}}, true);
    append_txn_deletes(d, u);
    Bytes body;
    write_update(u, body);
    Bytes out = d.signer ? sign_envelope(d, body) : std::move(body);
    if (d.signer) retain_envelope(d, out, u);
    d.txn_deletes.clear();
    if (d.on_update) d.on_update(out, d.txn_origin);
  }
  d.txn_deletes.clear();
  if (d.track.active) track_finish(d, d.txn_origin, true);
}

namespace {

struct Txn {  // every edit runs in a transaction: an implicit one unless the caller opened one
  explicit Txn(DocState& d) : d_(d) { txn_begin(d_, d_.txn_depth > 0 ? d_.txn_origin : 0); }
  ~Txn() { txn_commit(d_); }
  DocState& d_;
};

bool signed_by_any(const Envelope& env, const std::vector<std::vector<std::uint8_t>>& writers) {
  for (const auto& w : writers) {
    if (std::equal(w.begin(), w.end(), env.bytes.begin() + 1)) return true;
  }
  return false;
}

// `writers` null: every kept envelope; otherwise only those signed by one of them.
Bytes bundle(const DocState& d, const std::map<ClientId, std::uint32_t>& from,
             const std::vector<std::vector<std::uint8_t>>* writers = nullptr) {
  Bytes out{header(Frame::kBundle)};
  std::vector<const Envelope*> picked;
  for (const auto& [key, env] : d.envelopes) {
    if (writers && !signed_by_any(env, *writers)) continue;
    auto it = from.find(env.client);
    if (it == from.end() || env.clock_end > it->second) picked.push_back(&env);
  }
  put_varint(out, picked.size());
  for (const Envelope* e : picked) {
    put_varint(out, e->bytes.size());
    out.insert(out.end(), e->bytes.begin(), e->bytes.end());
  }
  return out;
}

}  // namespace
}  // namespace detail

// ---- Text ----

Status Text::insert(std::size_t pos_u16, std::string_view utf8) {
  return insert_utf16(pos_u16, detail::utf8_to_utf16_lossy(utf8));
}

Status Text::insert_utf16(std::size_t pos_u16, std::u16string_view units) {
  DocState& d = *d_;
  NITRO_TRY(detail::local_write_allowed(d));
  if (pos_u16 > d.types[t_].length) return invalid_argument("text insert position beyond the end");
  if (units.empty()) return {};
  NITRO_TRY(detail::check_room(d, units.size()));
  detail::Txn txn(d);
  const auto content = static_cast<std::uint32_t>(d.text.size());
  d.text.append(units);
  detail::insert_run(d, t_, static_cast<std::uint32_t>(pos_u16), Kind::kText, content,
                     static_cast<std::uint32_t>(units.size()));
  return {};
}

Status Text::erase(std::size_t pos_u16, std::size_t len_u16) {
  DocState& d = *d_;
  NITRO_TRY(detail::local_write_allowed(d));
  const std::size_t length = d.types[t_].length;
  if (pos_u16 > length || len_u16 > length - pos_u16) return invalid_argument("text delete range beyond the end");
  if (len_u16 == 0) return {};
  detail::Txn txn(d);
  detail::erase_run(d, t_, static_cast<std::uint32_t>(pos_u16), static_cast<std::uint32_t>(len_u16));
  return {};
}

std::size_t Text::length() const { return d_->types[t_].length; }

std::u16string Text::to_utf16() const {
  const DocState& d = *d_;
  std::u16string out;
  out.reserve(d.types[t_].length);
  for (std::uint32_t i = d.types[t_].start; i != kNone; i = d.items[i].right) {
    const auto& x = d.items[i];
    if (x.visible()) out.append(d.text, x.content, x.len);
  }
  return out;
}

std::string Text::to_string() const { return detail::utf16_to_utf8_lossy(to_utf16()); }

// ---- List ----

Status List::insert(std::size_t index, std::span<const Value> values) {
  DocState& d = *d_;
  NITRO_TRY(detail::local_write_allowed(d));
  if (index > d.types[t_].length) return invalid_argument("list insert index beyond the end");
  if (values.empty()) return {};
  NITRO_TRY(detail::check_room(d, values.size()));
  detail::Txn txn(d);
  const auto content = static_cast<std::uint32_t>(d.values.size());
  d.values.insert(d.values.end(), values.begin(), values.end());
  detail::insert_run(d, t_, static_cast<std::uint32_t>(index), Kind::kValues, content,
                     static_cast<std::uint32_t>(values.size()));
  return {};
}

Status List::push(const Value& value) { return insert(length(), std::span<const Value>(&value, 1)); }

Status List::erase(std::size_t index, std::size_t count) {
  DocState& d = *d_;
  NITRO_TRY(detail::local_write_allowed(d));
  const std::size_t length = d.types[t_].length;
  if (index > length || count > length - index) return invalid_argument("list delete range beyond the end");
  if (count == 0) return {};
  detail::Txn txn(d);
  detail::erase_run(d, t_, static_cast<std::uint32_t>(index), static_cast<std::uint32_t>(count));
  return {};
}

std::size_t List::length() const { return d_->types[t_].length; }

std::optional<Value> List::get(std::size_t index) const {
  if (index >= length()) return std::nullopt;
  auto f = detail::find_visible(*d_, t_, static_cast<std::uint32_t>(index));
  return detail::item_value(*d_, d_->items[f.item], static_cast<std::uint32_t>(index - f.pos));
}

Result<Nested> List::insert_nested(std::size_t index, SharedKind kind) {
  DocState& d = *d_;
  NITRO_TRY(detail::local_write_allowed(d));
  if (index > d.types[t_].length) return invalid_argument("list insert index beyond the end");
  if (d.types[t_].depth >= detail::kDepthMax) return invalid_argument("nested types nest too deep");
  NITRO_TRY(detail::check_room(d, 1));
  detail::Txn txn(d);
  return Nested{kind, detail::list_insert_type(d, t_, static_cast<std::uint32_t>(index), static_cast<TypeKind>(kind))};
}

std::optional<Nested> List::get_nested(std::size_t index) const {
  if (index >= length()) return std::nullopt;
  auto f = detail::find_visible(*d_, t_, static_cast<std::uint32_t>(index));
  const auto& x = d_->items[f.item];
  if (x.kind != Kind::kType) return std::nullopt;
  return Nested{static_cast<SharedKind>(d_->types[x.content].kind), x.content};
}

Array List::to_array() const {
  const DocState& d = *d_;
  Array out;
  out.reserve(d.types[t_].length);
  for (std::uint32_t i = d.types[t_].start; i != kNone; i = d.items[i].right) {
    const auto& x = d.items[i];
    for (std::uint32_t k = 0; x.visible() && k < x.len; ++k) out.push_back(detail::item_value(d, x, k));
  }
  return out;
}

// ---- Map ----

Status Map::set(std::string_view key, const Value& value) {
  DocState& d = *d_;
  NITRO_TRY(detail::local_write_allowed(d));
  if (key.size() > d.limits.key_bytes_max) return invalid_argument("map key longer than the limit");
  NITRO_TRY(detail::check_room(d, 1));
  detail::Txn txn(d);
  detail::map_set(d, t_, d.key_index(key), value);
  return {};
}

Status Map::erase(std::string_view key) {
  DocState& d = *d_;
  NITRO_TRY(detail::local_write_allowed(d));
  detail::Txn txn(d);
  detail::map_erase(d, t_, key);
  return {};
}

const Value* Map::get(std::string_view key) const {
  const DocState& d = *d_;
  const auto& entries = d.types[t_].entries;
  auto it = entries.find(std::string(key));
  if (it == entries.end() || !d.items[it->second].visible() || d.items[it->second].kind == Kind::kType) return nullptr;
  return &d.values[d.items[it->second].content];
}

Result<Nested> Map::set_nested(std::string_view key, SharedKind kind) {
  DocState& d = *d_;
  NITRO_TRY(detail::local_write_allowed(d));
  if (key.size() > d.limits.key_bytes_max) return invalid_argument("map key longer than the limit");
  if (d.types[t_].depth >= detail::kDepthMax) return invalid_argument("nested types nest too deep");
  NITRO_TRY(detail::check_room(d, 1));
  detail::Txn txn(d);
  return Nested{kind, detail::map_set_type(d, t_, d.key_index(key), static_cast<TypeKind>(kind))};
}

std::optional<Nested> Map::get_nested(std::string_view key) const {
  const DocState& d = *d_;
  const auto& entries = d.types[t_].entries;
  auto it = entries.find(std::string(key));
  if (it == entries.end() || !d.items[it->second].visible() || d.items[it->second].kind != Kind::kType) return std::nullopt;
  const std::uint32_t nested = d.items[it->second].content;
  return Nested{static_cast<SharedKind>(d.types[nested].kind), nested};
}

std::vector<std::string> Map::keys() const {
  std::vector<std::string> out;
  for (const auto& [k, i] : d_->types[t_].entries) {
    if (d_->items[i].visible()) out.push_back(k);
  }
  return out;
}

nitro::Map Map::to_map() const {
  nitro::Map out;
  for (const auto& [k, i] : d_->types[t_].entries) {
    if (d_->items[i].visible()) out.emplace_back(Value{k}, detail::item_value(*d_, d_->items[i], 0));
  }
  return out;
}

// ---- Counter ----

Status Counter::increment(std::int64_t delta) {
  DocState& d = *d_;
  NITRO_TRY(detail::local_write_allowed(d));
  NITRO_TRY(detail::check_room(d, 1));
  detail::Txn txn(d);
  detail::counter_add(d, t_, delta);
  return {};
}

std::int64_t Counter::value() const { return d_->types[t_].counter; }

// ---- Set ----

Status Set::add(const Value& value) {
  DocState& d = *d_;
  NITRO_TRY(detail::local_write_allowed(d));
  NITRO_TRY(detail::check_room(d, 1));
  detail::Txn txn(d);
  detail::set_add(d, t_, value);
  return {};
}

Status Set::erase(const Value& value) {
  DocState& d = *d_;
  NITRO_TRY(detail::local_write_allowed(d));
  detail::Txn txn(d);
  detail::set_erase(d, t_, value);
  return {};
}

bool Set::has(const Value& value) const { return d_->types[t_].elems.count(codec::encode(value)) > 0; }

Array Set::values() const {
  Array out;
  for (const auto& [bytes, items] : d_->types[t_].elems) out.push_back(d_->values[d_->items[items.front()].content]);
  return out;
}

std::size_t Set::size() const { return d_->types[t_].elems.size(); }

// ---- Doc ----

Doc::Doc(ClientId client, Limits limits) : d_(std::make_unique<DocState>()) {
  assert(client <= kClientIdMax);
  d_->limits = limits;
  d_->self = d_->client_index(client & kClientIdMax);
}

Doc::~Doc() = default;

ClientId Doc::client_id() const { return d_->clients[d_->self].id; }

Text Doc::get_text(std::string_view name) { return Text(d_.get(), d_->type_index(TypeKind::kText, name)); }
List Doc::get_list(std::string_view name) { return List(d_.get(), d_->type_index(TypeKind::kList, name)); }
Map Doc::get_map(std::string_view name) { return Map(d_.get(), d_->type_index(TypeKind::kMap, name)); }
Counter Doc::get_counter(std::string_view name) { return Counter(d_.get(), d_->type_index(TypeKind::kCounter, name)); }
Set Doc::get_set(std::string_view name) { return Set(d_.get(), d_->type_index(TypeKind::kSet, name)); }

Text Doc::text(Nested n) {
  assert(n.kind == SharedKind::kText && d_->types[n.type].kind == TypeKind::kText);
  return Text(d_.get(), n.type);
}
List Doc::list(Nested n) {
  assert(n.kind == SharedKind::kList && d_->types[n.type].kind == TypeKind::kList);
  return List(d_.get(), n.type);
}
Map Doc::map(Nested n) {
  assert(n.kind == SharedKind::kMap && d_->types[n.type].kind == TypeKind::kMap);
  return Map(d_.get(), n.type);
}
Counter Doc::counter(Nested n) {
  assert(n.kind == SharedKind::kCounter && d_->types[n.type].kind == TypeKind::kCounter);
  return Counter(d_.get(), n.type);
}
Set Doc::set(Nested n) {
  assert(n.kind == SharedKind::kSet && d_->types[n.type].kind == TypeKind::kSet);
  return Set(d_.get(), n.type);
}

void Doc::begin(std::uint64_t origin) { detail::txn_begin(*d_, origin); }
void Doc::commit() { detail::txn_commit(*d_); }

void Doc::transact(const std::function<void()>& fn, std::uint64_t origin) {
  begin(origin);
  fn();
  commit();
}

void Doc::set_update_handler(UpdateHandler handler) { d_->on_update = std::move(handler); }

std::vector<std::uint8_t> Doc::encode_state() const {
  if (!d_->writers.empty()) return detail::bundle(*d_, {});
  detail::Update u = detail::state_as_update(*d_, {}, false);
  detail::append_all_deletes(*d_, u, {});  // lists only deleted nested types
  Bytes out;
  detail::write_update(u, out);
  return out;
}

std::vector<std::uint8_t> Doc::encode_pending() const {
  Bytes out;
  if (d_->pending.recs.empty() && d_->pending.deletes.empty()) return out;
  detail::write_update(d_->pending, out);
  return out;
}

std::vector<std::uint8_t> Doc::encode_state_vector() const {
  Bytes out{detail::header(detail::Frame::kStateVector)};
  std::size_t n = 0;
  for (const auto& c : d_->clients) n += c.clock > 0;
  detail::put_varint(out, n);
  for (const auto& [id, c] : d_->client_of) {
    if (d_->clients[c].clock == 0) continue;
    detail::put_varint(out, id);
    detail::put_varint(out, d_->clients[c].clock);
  }
  return out;
}

Result<std::vector<std::uint8_t>> Doc::encode_state_as_update(std::span<const std::uint8_t> state_vector) const {
  auto sv = detail::read_state_vector(state_vector);
  if (!sv.ok()) return sv.status();
  if (!d_->writers.empty()) return detail::bundle(*d_, *sv);
  detail::Update u = detail::state_as_update(*d_, *sv, false);
  detail::append_all_deletes(*d_, u, *sv);
  Bytes out;
  detail::write_update(u, out);
  return out;
}

Result<std::vector<std::uint8_t>> Doc::encode_state_as_update(std::span<const std::uint8_t> state_vector,
                                                              const std::vector<std::vector<std::uint8_t>>& writers) const {
  auto sv = detail::read_state_vector(state_vector);
  if (!sv.ok()) return sv.status();
  return detail::bundle(*d_, *sv, &writers);
}

namespace {

struct Incoming {
  detail::Update update;
  std::vector<std::pair<Bytes, detail::Update>> envelopes;  // signed transactions, kept as signed
};

Status read_signed(const DocState& d, std::span<const std::uint8_t> bytes, Incoming& in) {
  auto opened = detail::open_envelope(bytes);
  if (!opened.ok()) return opened.status();
  if (!detail::writer_allowed(d, opened->public_key)) return permission_denied("crdt: update from a key that may not write");
  auto u = detail::read_update(opened->body, d.limits);
  if (!u.ok()) return u.status();
  for (const auto& r : u->recs) {
    if (u->clients[r.client] != opened->client) return permission_denied("crdt: signed update carries another client's items");
  }
  if (!d.writers.empty() && u->recs.empty()) return decode_error("crdt: signed update without items");
  detail::absorb(in.update, *u);
  in.envelopes.emplace_back(Bytes(bytes.begin(), bytes.end()), std::move(*u));
  return {};
}

Status read_bundle(const DocState& d, std::span<const std::uint8_t> bytes, Incoming& in) {
  detail::Reader r(bytes.subspan(1));
  const std::size_t n = r.count(2);
  for (std::size_t i = 0; i < n && r.ok(); ++i) {
    auto env = r.bytes(r.count());
    if (!r.ok()) break;
    NITRO_TRY(read_signed(d, env, in));
  }
  if (!r.ok() || !r.done()) return decode_error("crdt: malformed bundle");
  return {};
}

Status read_incoming(const DocState& d, std::span<const std::uint8_t> bytes, Incoming& in) {
  if (bytes.size() > d.limits.update_bytes_max) return resource_exhausted("crdt update larger than the limit");
  if (bytes.empty() || bytes[0] >> 4 != detail::kVersion) return decode_error("crdt update: unknown version");
  switch (static_cast<detail::Frame>(bytes[0] & 15)) {
    case detail::Frame::kUpdate:
    case detail::Frame::kPacked:
    case detail::Frame::kCoded: {
      if (!d.writers.empty()) return permission_denied("crdt: this document accepts only signed updates");
      auto u = detail::read_update(bytes, d.limits);
      if (!u.ok()) return u.status();
      in.update = std::move(*u);
      return {};
    }
    case detail::Frame::kSigned: return read_signed(d, bytes, in);
    case detail::Frame::kBundle: return read_bundle(d, bytes, in);
    default: return decode_error("crdt update: unknown frame kind");
  }
}

}  // namespace

Status Doc::apply_update(std::span<const std::uint8_t> update, std::uint64_t origin) {
  bool changed = false;
  return apply_update(update, origin, changed);
}

Status Doc::apply_update(std::span<const std::uint8_t> update, std::uint64_t origin, bool& changed) {
  changed = false;
  if (d_->txn_depth > 0) return failed_precondition("crdt: apply_update inside a transaction");
  Incoming in;
  NITRO_TRY(read_incoming(*d_, update, in));
  if (d_->on_change) detail::track_begin(*d_);
  Status s = detail::apply_decoded(*d_, std::move(in.update), &changed);
  if (!s.ok()) {
    detail::track_cancel(*d_);
    return s;
  }
  for (const auto& [bytes, u] : in.envelopes) detail::retain_envelope(*d_, bytes, u);
  if (changed && d_->on_update) d_->on_update(update, origin);
  if (changed && d_->track.active) detail::track_finish(*d_, origin, false);
  detail::track_cancel(*d_);
  return {};
}

Status Doc::set_signer(std::span<const std::uint8_t> secret_key) {
  if (secret_key.size() != 64 && secret_key.size() != 32) {
    return invalid_argument("crdt: a signer is a 32-byte Ed25519 seed or a 64-byte secret key");
  }
  auto identity = crypto::Identity::import_seed(secret_key.first(32));
  if (!identity.ok()) return identity.status();
  const auto& pk = identity->peer_id().bytes();
  if (secret_key.size() == 64 && !std::equal(pk.begin(), pk.end(), secret_key.begin() + 32)) {
    return invalid_argument("crdt: the secret key's public half does not match its seed");
  }
  return set_signer(*identity);
}

Status Doc::set_signer(const crypto::Identity& identity) {
  if (d_->clients[d_->self].clock > 0 || d_->txn_depth > 0) {
    return failed_precondition("crdt: set the signer before the first local edit");
  }
  const ClientId id = client_id_from_public_key(identity.peer_id().bytes());
  if (d_->clock_of(id) > 0) return failed_precondition("crdt: this signer already wrote to the document");
  d_->self = d_->client_index(id);
  d_->signer = identity;
  return {};
}

Status Doc::restrict_writers(const std::vector<std::vector<std::uint8_t>>& public_keys) {
  for (const auto& k : public_keys) {
    if (k.size() != 32) return invalid_argument("crdt: an Ed25519 public key is 32 bytes");
  }
  d_->writers = public_keys;
  std::sort(d_->writers.begin(), d_->writers.end());
  return {};
}

const std::vector<std::vector<std::uint8_t>>& Doc::writers() const { return d_->writers; }
bool Doc::in_transaction() const { return d_->txn_depth > 0; }

std::size_t Doc::item_count() const { return d_->items.size() - d_->free_items.size(); }
std::size_t Doc::pending_count() const { return d_->pending.recs.size() + d_->pending.deletes.size(); }

}  // namespace nitro::crdt
