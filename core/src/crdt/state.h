// Internal state of a crdt::Doc: the item arena, per-client indexes, shared types, the decoded
// update form shared by the encoder, the decoder and the integrator.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "nitro/crdt.h"
#include "nitro/identity.h"

namespace nitro::crdt::detail {

constexpr std::uint32_t kNone = 0xFFFFFFFFu;

enum class Kind : std::uint8_t {
  kText = 0,     // UTF-16 units in DocState::text
  kValues = 1,   // Values in DocState::values (list elements, one map value)
  kDeleted = 2,  // a deleted run whose content was dropped
  kCounter = 3,  // one increment; its delta is a Value(int64) in DocState::values
  kElem = 4,     // one set element; its Value in DocState::values
  kMark = 5,     // consumes a clock (a signed delete-only transaction); no parent
  kType = 6,     // a nested shared type (in a List or Map); content is its type index
};
constexpr std::uint8_t kKindMax = 6;

enum class TypeKind : std::uint8_t { kText = 0, kList = 1, kMap = 2, kCounter = 3, kSet = 4 };
constexpr std::uint8_t kTypeKindMax = 4;
constexpr std::uint32_t kDepthMax = kNestingMax;  // bounds recursion over nested types
static_assert(static_cast<int>(SharedKind::kSet) == static_cast<int>(TypeKind::kSet));

inline bool is_sequence(TypeKind k) { return k == TypeKind::kText || k == TypeKind::kList || k == TypeKind::kMap; }
// Item kinds that take a place in a sequence or key chain (and can be origins).
inline bool is_placed(Kind k) { return k == Kind::kText || k == Kind::kValues || k == Kind::kDeleted || k == Kind::kType; }

// One run of consecutive operations of one client: [clock, clock + len).
struct Item {
  std::uint32_t client;  // index into DocState::clients
  std::uint32_t clock;
  std::uint32_t len;
  std::uint32_t origin_client = kNone;  // the item left of the run when it was inserted (its last unit)
  std::uint32_t origin_clock = 0;
  std::uint32_t right_client = kNone;   // the item right of the run when it was inserted
  std::uint32_t right_clock = 0;
  std::uint32_t left = kNone;           // neighbours in the parent's sequence (or key chain)
  std::uint32_t right = kNone;
  std::uint32_t type = kNone;           // parent type
  std::uint32_t key = kNone;            // map key (index into DocState::keys)
  std::uint32_t content = 0;            // offset into text or values
  Kind kind;
  bool deleted = false;

  bool visible() const { return !deleted; }
  std::uint32_t end() const { return clock + len; }
};

// Items of one client sorted by clock, chunked so a split inserts in O(chunk) not O(n).
class ClientIndex {
 public:
  std::uint32_t find(const std::vector<Item>& items, std::uint32_t clock) const;  // kNone if absent
  void append(std::uint32_t item, std::uint32_t clock);
  void erase(const std::vector<Item>& items, std::uint32_t clock);  // the item starting at clock
  void insert_after(const std::vector<Item>& items, std::uint32_t left_clock, std::uint32_t item,
                    std::uint32_t clock);
  template <typename F> void for_each_from(const std::vector<Item>& items, std::uint32_t clock, F&& f) const;

 private:
  static constexpr std::size_t kChunk = 256;
  std::size_t chunk_of(std::uint32_t clock) const;
  std::vector<std::vector<std::uint32_t>> chunks_;
  std::vector<std::uint32_t> first_clock_;
};

struct Client {
  ClientId id;
  std::uint32_t clock = 0;  // next clock: everything below is integrated
  ClientIndex index;
};

struct Marker {  // a known visible item and its position, to start position walks near it
  std::uint32_t item;
  std::uint32_t pos;
  std::uint32_t used;
};

struct SharedType {
  TypeKind kind;
  std::string name;                               // root types
  std::uint32_t owner_client = kNone;             // nested types: the kType item that holds it
  std::uint32_t owner_clock = 0;
  std::uint32_t depth = 0;                        // nesting depth (roots 0), at most kDepthMax
  std::uint32_t start = kNone;                    // sequence head (text/list)
  std::uint32_t length = 0;                       // visible units (text/list)
  std::map<std::string, std::uint32_t> entries;   // map: key -> rightmost item of its chain
  std::map<std::uint32_t, std::uint32_t> heads;   // map: key index -> leftmost item of its chain
  std::int64_t counter = 0;
  std::map<Bytes, std::vector<std::uint32_t>> elems;  // set: msgpack(value) -> live items
  std::vector<Marker> markers;
  std::uint32_t marker_clock = 0;
};

struct Range {
  std::uint32_t clock;
  std::uint32_t len;
};

// The decoded (and encodable) form of an update. Records of one client are contiguous and in
// clock order; content offsets point into `text` / `values` of the same Update.
struct Rec {
  std::uint32_t client;                // index into Update::clients
  std::uint32_t clock;
  std::uint32_t len;
  Kind kind;
  std::uint32_t origin_client = kNone;  // index into Update::clients
  std::uint32_t origin_clock = 0;
  std::uint32_t right_client = kNone;
  std::uint32_t right_clock = 0;
  std::uint32_t type = kNone;           // index into Update::types (explicit root parent)
  std::uint32_t parent_client = kNone;  // explicit nested parent: the kType item's id
  std::uint32_t parent_clock = 0;
  std::uint32_t key = kNone;            // index into Update::keys
  std::uint32_t content = 0;
};

struct Update {
  std::vector<ClientId> clients;
  std::vector<std::pair<TypeKind, std::string>> types;
  std::vector<std::string> keys;
  std::vector<Rec> recs;
  std::u16string text;
  std::vector<Value> values;
  std::vector<std::pair<std::uint32_t, Range>> deletes;  // (client index, range)
};

struct Envelope {  // a signed update kept verbatim by writer-restricted docs
  std::vector<std::uint8_t> bytes;
  ClientId client;
  std::uint32_t clock_end;
};

// Observation of one transaction (observe.cpp): active only while a change handler is set.
struct Tracking {
  bool active = false;
  std::vector<std::uint32_t> before;      // clock per client index when the transaction began
  std::vector<ChangedRun> removed;        // runs tombstoned during it (client as an index in id.client)
};

struct DocState {
  Limits limits;
  std::vector<Item> items;
  std::vector<std::uint32_t> free_items;  // arena slots of merged items, reused first
  std::vector<Client> clients;
  std::map<ClientId, std::uint32_t> client_of;
  std::uint32_t self = 0;
  std::vector<SharedType> types;
  std::map<std::pair<TypeKind, std::string>, std::uint32_t> type_of;
  std::vector<std::string> keys;
  std::map<std::string, std::uint32_t, std::less<>> key_of;
  std::u16string text;
  std::vector<Value> values;
  std::map<std::pair<std::uint32_t, std::uint32_t>, std::uint32_t> nested_of;  // kType item id -> type

  // transaction
  int txn_depth = 0;
  std::uint64_t txn_origin = 0;
  std::uint32_t txn_start_clock = 0;
  std::map<std::uint32_t, std::vector<Range>> txn_deletes;  // client index -> ranges
  UpdateHandler on_update;
  ChangeHandler on_change;
  Tracking track;

  // waiting for dependencies
  Update pending;
  std::uint64_t pending_units = 0;  // sum of pending record and range lengths
  std::unordered_set<std::uint32_t> scratch_before, scratch_conflicting;  // YATA conflict scan (membership only)

  // authorship
  std::optional<crypto::Identity> signer;  // signs local transactions when set
  std::vector<std::vector<std::uint8_t>> writers;
  std::map<std::pair<ClientId, std::uint32_t>, Envelope> envelopes;  // (client, clock_start)
  std::uint64_t unsigned_deletes_seq = 0;

  // helpers (state.cpp)
  std::uint32_t client_index(ClientId id);
  std::uint32_t type_index(TypeKind kind, std::string_view name);
  std::uint32_t new_nested(TypeKind kind, std::uint32_t parent, std::uint32_t owner_client, std::uint32_t owner_clock);
  std::uint32_t key_index(std::string_view key);
  std::uint32_t clock_of(ClientId id) const;
  std::uint32_t find_item(std::uint32_t client, std::uint32_t clock) const;
  std::uint32_t split(std::uint32_t item, std::uint32_t offset);
  std::uint32_t clean_start(std::uint32_t client, std::uint32_t clock);
  std::uint32_t clean_end(std::uint32_t client, std::uint32_t clock);
  void note_delete(std::uint32_t client, std::uint32_t clock, std::uint32_t len);
  bool mark_deleted(std::uint32_t item);
  std::uint32_t alloc(const Item& x);
  bool merge_left(std::uint32_t item);
};

template <typename F>
void ClientIndex::for_each_from(const std::vector<Item>& items, std::uint32_t clock, F&& f) const {
  if (chunks_.empty()) return;
  std::size_t c = chunk_of(clock);
  const auto& chunk = chunks_[c];
  std::size_t lo = 0, hi = chunk.size();
  while (lo < hi) {  // first item whose end is after clock
    std::size_t mid = (lo + hi) / 2;
    if (items[chunk[mid]].end() <= clock) lo = mid + 1; else hi = mid;
  }
  for (std::size_t i = lo; i < chunk.size(); ++i) f(chunk[i]);
  for (std::size_t k = c + 1; k < chunks_.size(); ++k) {
    for (std::uint32_t it : chunks_[k]) f(it);
  }
}

// A shared type's content as a plain value (nested types included), for to_map/to_array.
Value json_of(const DocState& d, std::uint32_t type);
Value item_value(const DocState& d, const Item& x, std::uint32_t offset);

// Observation (observe.cpp)
void track_begin(DocState& d);
void track_removed(DocState& d, std::uint32_t item);  // from mark_deleted, before the flag is set
void track_finish(DocState& d, std::uint64_t origin, bool local);  // emits, then ends tracking
void track_cancel(DocState& d);

// Sequence positions (position.cpp)
struct Found {
  std::uint32_t item;
  std::uint32_t pos;  // visible position of the item's first unit
};
Found find_visible(DocState& d, std::uint32_t type, std::uint32_t index);
void markers_on_insert(SharedType& t, std::uint32_t pos, std::uint32_t n);
void markers_on_delete(SharedType& t, std::uint32_t pos, std::uint32_t n);

// Integration of remote records (integrate.cpp)
// Applies a validated update atomically: either every ready record is integrated (the rest
// wait in d.pending) or an error is returned and d is unchanged. *changed says whether anything
// new was accepted (integrated, deleted or queued).
Status apply_decoded(DocState& d, Update&& update, bool* changed);
void absorb(Update& dst, const Update& src);

// Encoding (encoding.cpp)
inline std::int64_t right_base(const Rec& r) {  // the usual right origin: the unit after the origin
  return r.origin_client != kNone && r.right_client == r.origin_client ? std::int64_t{r.origin_clock} + 1
                                                                       : std::int64_t{r.clock};
}
std::vector<std::pair<std::uint32_t, Range>> normalized(std::vector<std::pair<std::uint32_t, Range>> deletes);
void write_update(const Update& u, std::vector<std::uint8_t>& out);
Result<Update> read_update(std::span<const std::uint8_t> body, const Limits& limits);
// The packed text column (encoding_text.cpp). unpack_text decodes exactly `size` bytes.
void pack_text(std::string_view text, std::vector<std::uint8_t>& out);
std::string unpack_text(std::span<const std::uint8_t> in, std::size_t size);
// The coded text column (encoding_huffman.cpp). huffman_unpack_text decodes exactly `size` bytes.
void huffman_pack_text(std::string_view text, std::vector<std::uint8_t>& out);
bool huffman_unpack_text(std::span<const std::uint8_t> in, std::size_t size, std::string& text);
Update state_as_update(const DocState& d, const std::map<ClientId, std::uint32_t>& from, bool only_listed);
void append_all_deletes(const DocState& d, Update& u, const std::map<ClientId, std::uint32_t>& from);
void append_txn_deletes(const DocState& d, Update& u);
Result<std::map<ClientId, std::uint32_t>> read_state_vector(std::span<const std::uint8_t> bytes);

// UTF conversions (utf.cpp): WTF-8 so lone surrogates round-trip.
void utf16_to_wtf8(std::u16string_view in, std::string& out);
bool wtf8_to_utf16(std::string_view in, std::u16string& out);
std::u16string utf8_to_utf16_lossy(std::string_view in);
std::string utf16_to_utf8_lossy(std::u16string_view in);

}  // namespace nitro::crdt::detail
