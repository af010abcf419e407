// Local edit primitives shared by the type handles (doc.cpp).
#pragma once

#include "crdt/state.h"

namespace nitro::crdt::detail {

Status check_room(const DocState& d, std::size_t n);
void insert_run(DocState& d, std::uint32_t type, std::uint32_t pos, Kind kind, std::uint32_t content, std::uint32_t n);
void merge_deleted(DocState& d, std::uint32_t first, std::uint32_t stop);
void erase_run(DocState& d, std::uint32_t type, std::uint32_t pos, std::uint32_t n);
void map_set(DocState& d, std::uint32_t type, std::uint32_t key, Value value);
void map_link_tail(DocState& d, std::uint32_t type, std::uint32_t key, std::uint32_t item);
std::uint32_t map_set_type(DocState& d, std::uint32_t type, std::uint32_t key, TypeKind kind);
std::uint32_t list_insert_type(DocState& d, std::uint32_t type, std::uint32_t index, TypeKind kind);
bool map_erase(DocState& d, std::uint32_t type, std::string_view key);
void counter_add(DocState& d, std::uint32_t type, std::int64_t delta);
void set_add(DocState& d, std::uint32_t type, Value value);
bool set_erase(DocState& d, std::uint32_t type, const Value& value);
void add_mark(DocState& d);

// Transactions and signing (doc.cpp / auth.cpp)
void txn_begin(DocState& d, std::uint64_t origin);
void txn_commit(DocState& d);

}  // namespace nitro::crdt::detail
