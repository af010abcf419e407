// Merkle proofs over the state (see state.h for the tree) and the light-client read verifier.
//   leaf proof  [key str, value, create_revision, mod_revision, version, index, [sibling bin32...]]
//   state proof [revision, count, leaf proof | nil, left leaf proof | nil, right leaf proof | nil]
//               (the leaves fold to the tree root; the state root is H(0x02 | revision | tree root))
//   read proof  [header (wire.h), QC, key, state proof]
//               inclusion: the leaf; non-inclusion: the adjacent leaves around the key (or the
//               edge of the tree, or an empty tree whose root is 32 zero bytes).
#include "consensus/proof.h"

#include "nitro/codec.h"

namespace nitro::consensus {
namespace {

Value hash_value(const Hash& h) { return Value(Bytes(h.begin(), h.end())); }

// Levels of the tree, leaves first.
std::vector<std::vector<Hash>> levels_of(const KvStore& store) {
  std::vector<std::vector<Hash>> levels(1);
  for (const auto& [k, e] : store.entries()) levels[0].push_back(leaf_hash(k, e));
  while (levels.back().size() > 1) {
    const auto& l = levels.back();
    std::vector<Hash> next;
    for (std::size_t i = 0; i + 1 < l.size(); i += 2) next.push_back(node_hash(l[i], l[i + 1]));
    if (l.size() % 2) next.push_back(l.back());
    levels.push_back(std::move(next));
  }
  return levels;
}

Value leaf_proof(const std::vector<std::vector<Hash>>& levels, std::size_t index, const std::string& key,
                 const chain::KvEntry& e) {
  Array sibs;
  std::size_t i = index;
  for (std::size_t l = 0; l + 1 < levels.size(); ++l) {
    const std::size_t sib = i ^ 1;
    if (sib < levels[l].size()) sibs.push_back(hash_value(levels[l][sib]));
    i /= 2;
  }
  return Value(Array{Value(key), e.value, Value(e.create_revision), Value(e.mod_revision), Value(e.version),
                     Value(std::uint64_t{index}), Value(std::move(sibs))});
}

struct Leaf {
  std::string key;
  chain::KvEntry entry;
  std::uint64_t index = 0;
};

// Recomputes the root from a leaf proof; nullopt if malformed.
bool u64(const Value& v, std::uint64_t& out) {
  if (!v.is<std::int64_t>() || v.as<std::int64_t>() < 0) return false;
  out = static_cast<std::uint64_t>(v.as<std::int64_t>());
  return true;
}

std::optional<Hash> fold(const Value& v, std::uint64_t count, Leaf& out) {
  if (!v.is<Array>() || v.as<Array>().size() != 7) return std::nullopt;
  const auto& a = v.as<Array>();
  if (!a[0].is<std::string>() || !u64(a[2], out.entry.create_revision) || !u64(a[3], out.entry.mod_revision) ||
      !u64(a[4], out.entry.version) || !u64(a[5], out.index) || !a[6].is<Array>()) {
    return std::nullopt;
  }
  out.key = a[0].as<std::string>();
  out.entry.value = a[1];
  if (out.index >= count) return std::nullopt;
  Hash h = leaf_hash(out.key, out.entry);
  std::uint64_t i = out.index, m = count;
  std::size_t k = 0;
  const auto& sibs = a[6].as<Array>();
  while (m > 1) {
    if ((i ^ 1) < m) {
      if (k >= sibs.size() || !sibs[k].is<Bytes>() || sibs[k].as<Bytes>().size() != 32) return std::nullopt;
      Hash s{};
      std::copy(sibs[k].as<Bytes>().begin(), sibs[k].as<Bytes>().end(), s.begin());
      ++k;
      h = (i % 2) ? node_hash(s, h) : node_hash(h, s);
    }
    i /= 2;
    m = (m + 1) / 2;
  }
  if (k != sibs.size()) return std::nullopt;
  return h;
}

}  // namespace

Value state_proof(const KvStore& store, std::uint64_t revision, const std::string& key) {
  const auto levels = levels_of(store);
  const auto& entries = store.entries();
  const std::uint64_t count = entries.size();
  auto it = entries.lower_bound(key);
  const std::size_t index = static_cast<std::size_t>(std::distance(entries.begin(), it));
  Value found, left, right;
  if (it != entries.end() && it->first == key) {
    found = leaf_proof(levels, index, it->first, it->second);
  } else {
    if (index > 0) left = leaf_proof(levels, index - 1, std::prev(it)->first, std::prev(it)->second);
    if (it != entries.end()) right = leaf_proof(levels, index, it->first, it->second);
  }
  return Value(Array{Value(revision), Value(count), found, left, right});
}

Result<StateRead> verify_state_proof(const Value& proof, const std::string& key, const Hash& root) {
  const Status bad = decode_error("proof: malformed");
  std::uint64_t revision = 0, count = 0;
  if (!proof.is<Array>() || proof.as<Array>().size() != 5 || !u64(proof.as<Array>()[0], revision) ||
      !u64(proof.as<Array>()[1], count)) {
    return bad;
  }
  const auto& a = proof.as<Array>();
  const Status mismatch = unauthenticated("proof: does not match the state root");
  // The leaves fold to the tree's root; the state root wraps it with the executor's revision.
  auto matches = [&](const Hash& tree) { return state_root(revision, tree) == root; };
  if (!a[2].is_nil()) {
    Leaf l;
    auto r = fold(a[2], count, l);
    if (!r) return bad;
    if (!matches(*r) || l.key != key) return mismatch;
    return StateRead{true, l.entry.value, l.entry.mod_revision, l.entry.create_revision, l.entry.version};
  }
  if (count == 0) {
    if (!matches(Hash{})) return mismatch;
    return StateRead{};
  }
  Leaf l, r;
  std::optional<Hash> lr, rr;
  if (!a[3].is_nil() && !(lr = fold(a[3], count, l))) return bad;
  if (!a[4].is_nil() && !(rr = fold(a[4], count, r))) return bad;
  if (!lr && !rr) return bad;
  if ((lr && !matches(*lr)) || (rr && !matches(*rr))) return mismatch;
  // The key sits strictly between two adjacent leaves, or beyond an edge of the tree.
  const bool left_ok = lr ? (l.key < key && (rr ? r.index == l.index + 1 : l.index + 1 == count)) : r.index == 0;
  const bool right_ok = rr ? key < r.key : true;
  if (!left_ok || !right_ok) return mismatch;
  return StateRead{};
}

}  // namespace nitro::consensus
