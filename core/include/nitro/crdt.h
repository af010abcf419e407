// CRDT documents: a `Doc` holds named shared types (Text, List, Map, Counter, Set; Maps and Lists
// hold msgpack values or nested shared types) that converge under any delivery order and
// duplication of updates.
//
// Contract (sans-IO, deterministic): a Doc opens no socket, reads no clock, uses no randomness.
// Local edits produce updates (bytes) through the update handler; remote updates go in through
// apply_update(). Sequences (Text, List) use YATA ordering (as Yjs): concurrent runs never
// interleave character by character. Items are run-length: a run of consecutive inserts by one
// client is one item, split on demand. Text positions are UTF-16 code-unit indices, like JS.
//
// Sync: encode_state_vector() says what a replica has; encode_state_as_update(vector) is the
// delta the holder of `vector` lacks; apply_update() accepts updates out of order (items wait in
// a bounded pending set until causally ready) and duplicated (idempotent). Decoding is total and
// validated in full before anything is applied: a malformed, forged or unauthorized update is a
// typed error and leaves the document unchanged.
//
// Authorship: with a signer, every local transaction is signed (Ed25519) and the client id is
// derived from the signer's public key. A Doc restricted to a set of writer keys accepts only
// signed updates from those keys. Every Doc keeps the signed envelopes it sees, so it can relay
// them verbatim (encode_state_as_update(vector, writers) picks those of given writers).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nitro/status.h"
#include "nitro/value.h"

namespace nitro::crypto { class Identity; }

namespace nitro::crdt {

using ClientId = std::uint64_t;  // < 2^53 so JS numbers hold it exactly
constexpr ClientId kClientIdMax = (ClientId{1} << 53) - 1;
constexpr std::uint32_t kClockMax = 0xFFFFFFF0u;  // per-client operation count limit

struct Limits {
  std::size_t update_bytes_max = 32u << 20;      // one update (or bundle); decoded form is <= ~25x
  std::size_t pending_items_max = 1u << 20;      // records waiting for missing dependencies
  std::size_t pending_ranges_max = 1u << 20;     // delete ranges waiting for their items
  std::size_t name_bytes_max = 1024;             // root type names
  std::size_t key_bytes_max = 1u << 16;          // map keys
};

// The client id a signing identity writes under: the first 53 bits of BLAKE2b(public key).
ClientId client_id_from_public_key(std::span<const std::uint8_t, 32> public_key);

class Doc;
namespace detail { struct DocState; }

// Kinds of shared types, for nested types inside a Map or List.
enum class SharedKind : std::uint8_t { kText = 0, kList = 1, kMap = 2, kCounter = 3, kSet = 4 };
struct Nested {  // a nested shared type; open it with Doc::text()/list()/map()/counter()/set()
  SharedKind kind;
  std::uint32_t type;
};
constexpr std::uint32_t kNestingMax = 32;  // nested types inside nested types

// Handles to shared types; cheap to copy, valid while their Doc lives.
class Text {
 public:
  Status insert(std::size_t pos_u16, std::string_view utf8);
  Status insert_utf16(std::size_t pos_u16, std::u16string_view units);
  Status erase(std::size_t pos_u16, std::size_t len_u16);
  std::size_t length() const;  // UTF-16 code units
  std::string to_string() const;
  std::u16string to_utf16() const;
  std::uint32_t id() const { return t_; }

 private:
  friend class Doc;
  Text(detail::DocState* d, std::uint32_t t) : d_(d), t_(t) {}
  detail::DocState* d_;
  std::uint32_t t_;
};

class List {
 public:
  Status insert(std::size_t index, std::span<const Value> values);
  Status push(const Value& value);
  Status erase(std::size_t index, std::size_t count);
  std::size_t length() const;
  std::optional<Value> get(std::size_t index) const;  // a nested type reads as its JSON value
  Array to_array() const;                              // nested types as JSON values
  Result<Nested> insert_nested(std::size_t index, SharedKind kind);
  std::optional<Nested> get_nested(std::size_t index) const;
  std::uint32_t id() const { return t_; }

 private:
  friend class Doc;
  List(detail::DocState* d, std::uint32_t t) : d_(d), t_(t) {}
  detail::DocState* d_;
  std::uint32_t t_;
};

class Map {
 public:
  Status set(std::string_view key, const Value& value);
  Status erase(std::string_view key);
  const Value* get(std::string_view key) const;  // nullptr when absent or a nested type
  std::vector<std::string> keys() const;          // sorted
  nitro::Map to_map() const;                       // sorted by key; nested types as JSON values
  Result<Nested> set_nested(std::string_view key, SharedKind kind);
  std::optional<Nested> get_nested(std::string_view key) const;
  std::uint32_t id() const { return t_; }

 private:
  friend class Doc;
  Map(detail::DocState* d, std::uint32_t t) : d_(d), t_(t) {}
  detail::DocState* d_;
  std::uint32_t t_;
};

class Counter {  // PN counter: the sum of every replica's increments
 public:
  Status increment(std::int64_t delta);
  std::int64_t value() const;
  std::uint32_t id() const { return t_; }

 private:
  friend class Doc;
  Counter(detail::DocState* d, std::uint32_t t) : d_(d), t_(t) {}
  detail::DocState* d_;
  std::uint32_t t_;
};

class Set {  // observed-remove set: a concurrent add wins over a remove
 public:
  Status add(const Value& value);
  Status erase(const Value& value);
  bool has(const Value& value) const;
  Array values() const;  // sorted by msgpack encoding
  std::size_t size() const;
  std::uint32_t id() const { return t_; }

 private:
  friend class Doc;
  Set(detail::DocState* d, std::uint32_t t) : d_(d), t_(t) {}
  detail::DocState* d_;
  std::uint32_t t_;
};

// ---- observing changes, relative positions (observe.cpp) ----------------------------------------

// An id of one unit (a character, a list element, a map value): stable across replicas and edits.
struct ItemId {
  ClientId client = 0;
  std::uint32_t clock = 0;
  bool operator==(const ItemId&) const = default;
};

// One step of a sequence delta, in Quill's shape (as Yjs's event.delta): retain `len` units,
// insert `text` (Text) or `values` (List; nested types as their JSON value), or delete `len`.
struct DeltaOp {
  enum class Op : std::uint8_t { kRetain, kInsert, kDelete };
  Op op = Op::kRetain;
  std::uint32_t len = 0;  // units: UTF-16 code units for Text, elements for List
  std::u16string text;
  Array values;
};

struct KeyChange {  // a changed Map key, compared with its value before the transaction
  enum class Action : std::uint8_t { kAdd, kUpdate, kDelete };
  std::string key;
  Action action = Action::kAdd;
  std::optional<Value> old_value;  // kUpdate, kDelete
};

struct TypeChange {
  std::uint32_t type = 0;         // the type's id (Text::id() ...)
  SharedKind kind = SharedKind::kText;
  std::vector<DeltaOp> delta;     // Text, List
  std::vector<KeyChange> keys;    // Map, sorted by key
};

// A run of units one transaction inserted or tombstoned, with the content it held (for undo).
struct ChangedRun {
  ItemId id;
  std::uint32_t len = 0;
  std::uint32_t type = 0;
  std::optional<std::string> key;  // map entries
  std::u16string text;             // removed Text content
  Array values;                    // removed List content / the map value
};

// What one transaction (a local commit or an applied update) changed, by type id (ascending).
struct Changes {
  std::uint64_t origin = 0;
  bool local = false;
  std::vector<TypeChange> types;
  std::vector<ChangedRun> inserted;  // visible runs it added (content left empty)
  std::vector<ChangedRun> removed;   // runs that existed before it and it tombstoned
};
using ChangeHandler = std::function<void(const Changes&)>;

// A cursor anchor: the unit right of the cursor (assoc >= 0) or left of it (assoc < 0); no unit
// means the start (assoc < 0) or the end (assoc >= 0) of the type. Survives concurrent edits.
struct RelativePosition {
  std::optional<ItemId> item;
  std::int32_t assoc = 0;
};

struct ParentLink {  // where a nested type sits in its parent
  std::uint32_t parent = 0;
  std::optional<std::string> key;    // in a Map
  std::optional<std::size_t> index;  // in a List (absent when its element was deleted)
};

// Called with each update this Doc produces (local commit) or accepts (apply_update, the input
// bytes), and the origin passed to transact()/apply_update(). Not called for duplicates.
using UpdateHandler = std::function<void(std::span<const std::uint8_t> update, std::uint64_t origin)>;

class Doc {
 public:
  explicit Doc(ClientId client, Limits limits = {});
  ~Doc();
  Doc(const Doc&) = delete;
  Doc& operator=(const Doc&) = delete;

  ClientId client_id() const;

  // Root types by name; each kind has its own namespace (text "a" and map "a" are distinct).
  Text get_text(std::string_view name);
  List get_list(std::string_view name);
  Map get_map(std::string_view name);
  Counter get_counter(std::string_view name);
  Set get_set(std::string_view name);
  // Nested types (from Map::get_nested / List::get_nested); the kind must match.
  Text text(Nested n);
  List list(Nested n);
  Map map(Nested n);
  Counter counter(Nested n);
  Set set(Nested n);

  // Batches every edit made between begin and commit into one update. Nests; the outermost
  // commit emits. transact() is begin + fn + commit.
  void begin(std::uint64_t origin = 0);
  void commit();
  void transact(const std::function<void()>& fn, std::uint64_t origin = 0);
  void set_update_handler(UpdateHandler handler);

  std::vector<std::uint8_t> encode_state() const;
  std::vector<std::uint8_t> encode_state_vector() const;
  Result<std::vector<std::uint8_t>> encode_state_as_update(std::span<const std::uint8_t> state_vector) const;
  // What a replica restricted to `writers` (32-byte public keys) lacks and would accept: a bundle
  // of the signed transactions by those writers beyond `state_vector`, as signed. Edits by anyone
  // else (and unsigned ones) are left out, so the receiver never refuses the bundle for them.
  Result<std::vector<std::uint8_t>> encode_state_as_update(std::span<const std::uint8_t> state_vector,
                                                           const std::vector<std::vector<std::uint8_t>>& writers) const;
  Status apply_update(std::span<const std::uint8_t> update, std::uint64_t origin = 0);
  // Same; `changed` tells whether anything new was accepted (false for a duplicate).
  Status apply_update(std::span<const std::uint8_t> update, std::uint64_t origin, bool& changed);

  // Authorship. The Doc then writes under client_id_from_public_key(public key) and signs each
  // transaction. Call before the first local edit. Takes a node identity, or key bytes: a
  // 32-byte Ed25519 seed or libsodium's 64-byte secret key (seed || public key).
  Status set_signer(const crypto::Identity& identity);
  Status set_signer(std::span<const std::uint8_t> secret_key);
  // Accept only updates signed by one of these 32-byte public keys (an empty list lifts it).
  Status restrict_writers(const std::vector<std::vector<std::uint8_t>>& public_keys);
  const std::vector<std::vector<std::uint8_t>>& writers() const;  // sorted; empty: anyone
  bool in_transaction() const;

  // Observing: the handler runs after each transaction that changed something (local commit,
  // after the update handler; apply_update). Costs nothing while no handler is set.
  void set_change_handler(ChangeHandler handler);
  // Relative positions in a Text or List (`type` is its id). kInvalidArgument for another kind or
  // an index beyond the end.
  Result<RelativePosition> relative_position(std::uint32_t type, std::size_t index, std::int32_t assoc) const;
  // The index now; nullopt when its unit is unknown here (not yet received) or in another type.
  std::optional<std::size_t> resolve(std::uint32_t type, const RelativePosition& pos) const;
  // Units before `id` in its sequence counting tombstones too: orders deleted runs.
  std::optional<std::size_t> rank(std::uint32_t type, ItemId id) const;
  // Deletes the still visible units of [id.clock, id.clock + len) of one client in a Text or List
  // (undo of an insertion, wherever concurrent edits moved it).
  Status erase_ids(std::uint32_t type, ItemId id, std::uint32_t len);
  std::optional<ItemId> map_entry_id(std::uint32_t type, std::string_view key) const;  // the visible value's id
  std::optional<ParentLink> parent_of(std::uint32_t type) const;  // nullopt for root types
  SharedKind kind_of(std::uint32_t type) const;

  // The updates still waiting for missing dependencies, as one unsigned update (empty when none).
  // encode_state() leaves them out: they are not part of the document yet.
  std::vector<std::uint8_t> encode_pending() const;

  // Diagnostics: items in memory, items waiting for dependencies.
  std::size_t item_count() const;
  std::size_t pending_count() const;

 private:
  std::unique_ptr<detail::DocState> d_;
};

}  // namespace nitro::crdt
