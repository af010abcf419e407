// Unit tests for the chain's executor, state proofs and mempool, against independent oracles: a
// plain std::map model of the kv module's documented semantics, and a recursive Merkle root.
#include <catch2/catch.hpp>
#include <sodium.h>

#include <functional>
#include <map>
#include <set>

#include "consensus/proof.h"
#include "consensus/state.h"
#include "nitro/codec.h"
#include "nitro/consensus.h"
#include "test_util.h"

using namespace nitro;
using namespace nitro::consensus;

namespace {

crypto::Identity identity(std::uint8_t b) {
  crypto::Seed s{};
  s.fill(b);
  return crypto::Identity::from_seed(s);
}

Value args(std::initializer_list<std::pair<const char*, Value>> kv) {
  Map m;
  for (const auto& [k, v] : kv) m.emplace_back(Value(k), v);
  return Value(std::move(m));
}

// The oracle: key -> entry, per the kv module's documentation (etcd's revision semantics).
struct ModelEntry {
  std::int64_t value = 0;
  std::uint64_t create = 0, mod = 0, version = 0;
};
struct Model {
  std::map<std::string, ModelEntry> kv;
  std::uint64_t revision = 0;  // the executor's: one per tx (and per block start that writes)
};

// An independent recomputation of the state root from its definition in state.h, sharing no
// code with the core: msgpack written by hand (msgpack spec: the shortest form of each integer,
// fixstr/str8 strings), SHA-256 straight from libsodium, the tree folded bottom-up.
void mp_uint(Bytes& out, std::uint64_t v) {
  if (v < 128) { out.push_back(static_cast<std::uint8_t>(v)); return; }
  int bytes = v <= 0xff ? 1 : v <= 0xffff ? 2 : v <= 0xffffffffull ? 4 : 8;
  out.push_back(bytes == 1 ? 0xcc : bytes == 2 ? 0xcd : bytes == 4 ? 0xce : 0xcf);
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void mp_str(Bytes& out, const std::string& s) {
  REQUIRE(s.size() < 256);
  if (s.size() < 32) out.push_back(static_cast<std::uint8_t>(0xa0 | s.size()));
  else { out.push_back(0xd9); out.push_back(static_cast<std::uint8_t>(s.size())); }
  out.insert(out.end(), s.begin(), s.end());
}
Hash sodium_sha256(const Bytes& b) {
  Hash h{};
  crypto_hash_sha256(h.data(), b.data(), b.size());
  return h;
}
Hash oracle_root(const Model& m) {
  std::vector<Hash> level;
  for (const auto& [k, e] : m.kv) {
    REQUIRE(e.value >= 0);
    Bytes leaf{0x00};
    mp_str(leaf, k);
    mp_uint(leaf, static_cast<std::uint64_t>(e.value));
    mp_uint(leaf, e.create);
    mp_uint(leaf, e.mod);
    mp_uint(leaf, e.version);
    level.push_back(sodium_sha256(leaf));
  }
  Hash tree{};
  if (!level.empty()) {
    while (level.size() > 1) {
      std::vector<Hash> next;
      for (std::size_t i = 0; i < level.size(); i += 2) {
        if (i + 1 == level.size()) { next.push_back(level[i]); continue; }
        Bytes node{0x01};
        node.insert(node.end(), level[i].begin(), level[i].end());
        node.insert(node.end(), level[i + 1].begin(), level[i + 1].end());
        next.push_back(sodium_sha256(node));
      }
      level = next;
    }
    tree = level[0];
  }
  Bytes top{0x02};
  mp_uint(top, m.revision);
  top.insert(top.end(), tree.begin(), tree.end());
  return sodium_sha256(top);
}

void model_put(Model& m, const std::string& key, std::int64_t v, std::uint64_t rev) {
  auto it = m.kv.find(key);
  if (it == m.kv.end()) m.kv[key] = ModelEntry{v, rev, rev, 1};
  else it->second = ModelEntry{v, it->second.create, rev, it->second.version + 1};
}

}  // namespace

TEST_CASE("chain executor: kv.put kv.delete kv.cas match a map model over random ops", "[consensus]") {
  for (auto seed : test::test_seeds("chain-exec", 20)) {
    INFO("reproduce with NITRO_SEED=" << seed);
    test::SplitMix rng{seed};
    Executor ex;
    Model m;
    const auto id = identity(3);
    CHECK(ex.root() == oracle_root(m));
    for (int block = 1; block <= 30; ++block) {
      std::vector<Bytes> txs;
      std::vector<std::function<void(const TxOutcome&)>> checks;
      // No module writes at block start here, so begin_block takes no revision.
      for (int t = 0; t < 8; ++t) {
        const std::string key = "k" + std::to_string(rng.below(6));
        const std::uint64_t my_rev = ++m.revision;
        const int kind = static_cast<int>(rng.below(4));
        auto cur = m.kv.find(key);
        if (kind == 0) {
          const auto v = static_cast<std::int64_t>(rng.below(100));
          txs.push_back(make_tx(id, txs.size() + block * 100, "kv.put", args({{"key", Value(key)}, {"value", Value(v)}})));
          model_put(m, key, v, my_rev);
          checks.push_back([](const TxOutcome& o) { CHECK(o.ok); });
        } else if (kind == 1) {
          const bool existed = cur != m.kv.end();
          txs.push_back(make_tx(id, txs.size() + block * 100, "kv.delete", args({{"key", Value(key)}})));
          m.kv.erase(key);
          checks.push_back([existed](const TxOutcome& o) {
            REQUIRE(o.ok);
            CHECK(o.result.find("deleted")->as<bool>() == existed);
          });
        } else if (kind == 2) {  // cas on revision: right or wrong by a coin
          const std::uint64_t actual = cur == m.kv.end() ? 0 : cur->second.mod;
          const bool right = rng.percent(50);
          const std::uint64_t expect = right ? actual : actual + 1;
          const auto v = static_cast<std::int64_t>(1000 + rng.below(100));
          txs.push_back(make_tx(id, txs.size() + block * 100, "kv.cas",
                                args({{"key", Value(key)}, {"value", Value(v)}, {"expectRevision", Value(expect)}})));
          if (right) model_put(m, key, v, my_rev);
          checks.push_back([right](const TxOutcome& o) {
            CHECK(o.ok == right);
            if (!right) CHECK(o.error.code() == Code::kFailedPrecondition);
          });
        } else {  // cas on value
          const bool right = cur != m.kv.end() && rng.percent(60);
          const Value expect = right ? Value(cur->second.value) : Value(std::string("nope"));
          txs.push_back(make_tx(id, txs.size() + block * 100, "kv.cas",
                                args({{"key", Value(key)}, {"delete", Value(true)}, {"expect", expect}})));
          if (right) m.kv.erase(key);
          checks.push_back([right](const TxOutcome& o) { CHECK(o.ok == right); });
        }
      }
      chain::BlockContext bc{static_cast<std::uint64_t>(block), 1000u * block, PeerId{}, 0};
      auto outs = ex.execute(bc, txs);
      REQUIRE(outs.size() == checks.size());
      for (std::size_t i = 0; i < outs.size(); ++i) checks[i](outs[i]);
      REQUIRE(ex.store().entries().size() == m.kv.size());
      for (const auto& [k, v] : m.kv) {
        const auto* e = ex.store().get(k);
        REQUIRE(e != nullptr);
        CHECK(e->value == Value(v.value));
        CHECK(e->create_revision == v.create);
        CHECK(e->mod_revision == v.mod);
        CHECK(e->version == v.version);
      }
      CHECK(ex.revision() == m.revision);
      CHECK(ex.root() == oracle_root(m));
    }
  }
}

// The root commits to each entry's revisions and to the executor's revision: two states that
// differ only there (what a state sync used to take on trust) have different roots.
TEST_CASE("chain state root: entry revisions and the executor revision are committed to", "[consensus]") {
  Model m;
  m.revision = 7;
  model_put(m, "a", 1, 3);
  model_put(m, "a", 1, 5);  // version 2, created at 3
  Executor ex;
  ex.install({{"a", chain::KvEntry{Value(1), 3, 5, 2}}}, 7);
  CHECK(ex.root() == oracle_root(m));
  const Hash base = ex.root();
  for (int field = 0; field < 4; ++field) {
    chain::KvEntry e{Value(1), 3, 5, 2};
    std::uint64_t rev = 7;
    if (field == 0) e.create_revision = 4;
    if (field == 1) e.mod_revision = 6;
    if (field == 2) e.version = 3;
    if (field == 3) rev = 8;
    Executor other;
    other.install({{"a", e}}, rev);
    INFO("field " << field);
    CHECK(other.root() != base);
  }
}

TEST_CASE("chain executor: kv.batch is atomic and fencing tokens only move forward", "[consensus]") {
  Executor ex;
  const auto id = identity(4);
  chain::BlockContext bc{1, 1000, PeerId{}, 0};
  auto put = [](const char* k, int v) { return args({{"op", Value("put")}, {"key", Value(k)}, {"value", Value(v)}}); };
  Value bad_batch = args({{"ops", Value(Array{put("a", 1), args({{"op", Value("cas")}, {"key", Value("b")},
                                                                   {"value", Value(2)}, {"expectRevision", Value(99)}})})}});
  Value good_batch = args({{"ops", Value(Array{put("a", 1), put("b", 2)})}});
  auto outs = ex.execute(bc, {make_tx(id, 1, "kv.batch", bad_batch), make_tx(id, 2, "kv.batch", good_batch)});
  CHECK_FALSE(outs[0].ok);
  CHECK(outs[1].ok);
  CHECK(ex.store().get("a")->value == Value(1));
  CHECK(ex.store().get("a")->mod_revision == ex.store().get("b")->mod_revision);  // one tx, one revision
  auto fenced = [&](std::uint64_t nonce, int token) {
    return make_tx(id, nonce, "kv.cas", args({{"key", Value("res")}, {"value", Value(token)}, {"ifTokenAtLeast", Value(token)}}));
  };
  outs = ex.execute({2, 2000, PeerId{}, 0}, {fenced(3, 5), fenced(4, 4), fenced(5, 5), fenced(6, 9)});
  CHECK(outs[0].ok);
  CHECK_FALSE(outs[1].ok);  // a stale holder (token 4 after 5) is fenced off
  CHECK(outs[1].error.code() == Code::kFailedPrecondition);
  CHECK(outs[2].ok);
  CHECK(outs[3].ok);
  CHECK(ex.store().get("res")->value == Value(9));
  // Unknown module and bad args are results, not crashes.
  outs = ex.execute({3, 3000, PeerId{}, 0}, {make_tx(id, 7, "nope.x", Value()), make_tx(id, 8, "kv.put", Value(1)), Bytes{1, 2, 3}});
  CHECK(outs[0].error.code() == Code::kNotFound);
  CHECK(outs[1].error.code() == Code::kInvalidArgument);
  CHECK(outs[2].error.code() == Code::kDecodeError);
  // Keys starting with NUL belong to built-in modules: user ops cannot forge a lock or reset a fence.
  const std::string lock_key("\0sync/l/job", 11), fence_key("\0fence/res", 10);
  outs = ex.execute({4, 4000, PeerId{}, 0},
                    {make_tx(id, 9, "kv.put", args({{"key", Value(lock_key)}, {"value", Value(1)}})),
                     make_tx(id, 10, "kv.delete", args({{"key", Value(fence_key)}})),
                     make_tx(id, 11, "kv.cas", args({{"key", Value(fence_key)}, {"value", Value(0)}}))});
  for (const auto& out : outs) CHECK(out.error.code() == Code::kInvalidArgument);
  CHECK(ex.store().get(lock_key) == nullptr);
  CHECK(ex.store().get(fence_key)->value == Value(9));
}

TEST_CASE("chain state proofs: inclusion and non-inclusion verify and tampering is caught", "[consensus]") {
  for (auto seed : test::test_seeds("chain-proofs", 10)) {
    INFO("reproduce with NITRO_SEED=" << seed);
    test::SplitMix rng{seed};
    KvStore store;
    const std::size_t n = rng.below(40);
    std::map<std::string, Value> model;
    for (std::size_t i = 0; i < n; ++i) {
      const std::string k = "key" + std::to_string(rng.below(1000));
      chain::KvEntry e;
      e.value = Value(static_cast<std::int64_t>(i));
      e.create_revision = i + 1 - std::min<std::size_t>(i, rng.below(3));
      e.mod_revision = i + 1;
      e.version = 1 + rng.below(4);
      store.set(k, e);
      model[k] = e.value;
    }
    const std::uint64_t revision = n + 5;
    const Hash root = state_root(revision, store.root());
    for (int q = 0; q < 30; ++q) {
      const std::string k = q % 2 && !model.empty() ? std::next(model.begin(), rng.below(model.size()))->first
                                                     : "key" + std::to_string(rng.below(1000));
      const Value proof = state_proof(store, revision, k);
      auto r = verify_state_proof(proof, k, root);
      REQUIRE(r.ok());
      CHECK(r->found == model.count(k));
      if (r->found) {
        const auto* e = store.get(k);
        CHECK(r->value == model[k]);
        CHECK(r->create_revision == e->create_revision);
        CHECK(r->mod_revision == e->mod_revision);
        CHECK(r->version == e->version);
        // A proof that claims other revisions for the entry does not verify.
        for (std::size_t field = 2; field <= 4; ++field) {
          Value forged = proof;
          auto& leaf = forged.as<Array>()[2].as<Array>();
          leaf[field] = Value(static_cast<std::uint64_t>(leaf[field].as<std::int64_t>() + 1));
          CHECK_FALSE(verify_state_proof(forged, k, root).ok());
        }
      }
      {  // nor one that claims another executor revision
        Value forged = proof;
        forged.as<Array>()[0] = Value(revision + 1);
        CHECK_FALSE(verify_state_proof(forged, k, root).ok());
      }
      // The same proof does not verify against another root, and a claimed absence of a present
      // key cannot be made from its neighbours.
      Hash other = root;
      other[0] ^= 1;
      CHECK_FALSE(verify_state_proof(proof, k, other).ok());
      if (r->found && model.size() > 1) {
        Value forged = proof;
        auto& a = forged.as<Array>();
        a[2].as<Array>()[1] = Value(std::string("forged"));
        CHECK_FALSE(verify_state_proof(forged, k, root).ok());
      }
    }
  }
}

namespace {

class CaptureContext final : public ProtocolContext {
 public:
  explicit CaptureContext(PeerId id) : id_(id) {}
  const PeerId& local_id() const override { return id_; }
  Status send(const PeerId&, std::span<const std::uint8_t> b) override {
    sent.emplace_back(b.begin(), b.end());
    return Status::ok_status();
  }
  Result<std::uint64_t> publish(const std::string&, std::span<const std::uint8_t>) override { return std::uint64_t{1}; }
  Status subscribe(const std::string&) override { return Status::ok_status(); }
  Status unsubscribe(const std::string&) override { return Status::ok_status(); }
  std::vector<PeerInfo> peers() const override { return {}; }
  std::vector<PeerId> neighbors() const override { return {}; }
  void emit(Bytes) override {}
  void random_bytes(std::span<std::uint8_t> out) override { std::fill(out.begin(), out.end(), 1); }
  std::uint64_t now_ms() const override { return 0; }
  void store_put(const std::string& k, Bytes v) override { stored[k] = std::move(v); }
  void store_delete(const std::string& k) override { stored.erase(k); }
  StoredRecords take_restored() override { return {}; }
  std::vector<Bytes> sent;
  StoredRecords stored;

 private:
  PeerId id_;
};

struct Four {
  std::vector<Validator> validators;
  std::vector<bls::SecretKey> sks;
  std::vector<crypto::Identity> ids;
  Four() {
    for (std::uint8_t i = 0; i < 4; ++i) {
      ids.push_back(identity(static_cast<std::uint8_t>(20 + i)));
      sks.push_back(*bls::key_gen(Bytes(32, static_cast<std::uint8_t>(40 + i))));
    }
    for (std::size_t i = 0; i < 4; ++i) {
      validators.push_back({ids[i].peer_id(), bls::sk_to_pk(sks[i], bls::Group::kG2), bls_pop(sks[i])});
    }
  }
  // Index (in `ids`) of the validator at sorted position `pos`.
  std::size_t at_sorted(std::size_t pos) const {
    std::vector<std::size_t> order{0, 1, 2, 3};
    std::sort(order.begin(), order.end(), [&](auto a, auto b) { return ids[a].peer_id() < ids[b].peer_id(); });
    return order[pos];
  }
};

}  // namespace

TEST_CASE("chain mempool: bounded, deduplicated, signature-checked, fair across senders", "[consensus]") {
  Four f;
  const std::size_t me = f.at_sorted(1);  // the leader of view 1 (round robin over sorted ids)
  ConsensusConfig c;
  c.validators = f.validators;
  c.bls_sk = f.sks[me];
  c.mempool_txs_max = 6;
  c.txs_per_block_max = 2;
  c.start_ms = 10;
  auto p = ConsensusProtocol::create(c, f.ids[me].peer_id());
  REQUIRE(p.ok());
  CaptureContext ctx(f.ids[me].peer_id());
  (*p)->attach(ctx);
  const auto alice = identity(1), bob = identity(2);
  auto put = [](int v) { return args({{"key", Value("k")}, {"value", Value(v)}}); };
  for (int i = 0; i < 5; ++i) REQUIRE((*p)->submit(make_tx(alice, i, "kv.put", put(i)), 0).ok());
  auto dup = (*p)->submit(make_tx(alice, 0, "kv.put", put(0)), 0);
  REQUIRE(dup.ok());  // the same tx again: accepted as the same id, not stored twice
  Bytes forged = make_tx(bob, 9, "kv.put", put(9));
  forged[forged.size() - 1] ^= 1;
  CHECK((*p)->submit(forged, 0).status().code() == Code::kInvalidArgument);
  REQUIRE((*p)->submit(make_tx(bob, 1, "kv.put", put(100)), 0).ok());  // the 6th
  CHECK((*p)->submit(make_tx(bob, 2, "kv.put", put(101)), 0).status().code() == Code::kResourceExhausted);
  // As leader of view 1 it proposes: two txs, one per sender (round robin), each sender's oldest.
  (*p)->tick(10);
  std::optional<Value> proposal;
  for (const auto& frame : ctx.sent) {
    auto v = codec::decode(frame);
    if (v.ok() && v->as<Array>()[0] == Value(1)) proposal = *v;
  }
  REQUIRE(proposal.has_value());
  const auto& txs = proposal->as<Array>()[1].as<Array>()[8].as<Array>();
  REQUIRE(txs.size() == 2);
  std::set<PeerId> senders;
  for (const auto& t : txs) senders.insert(decode_tx(t.as<Bytes>())->sender);
  CHECK(senders.size() == 2);
  const Bytes oldest = make_tx(alice, 0, "kv.put", put(0));
  CHECK(std::count_if(txs.begin(), txs.end(), [&](const Value& t) { return t.as<Bytes>() == oldest; }) == 1);
  // It voted for its own proposal, and wrote its safety record before sending the vote.
  CHECK(ctx.stored.count("safety") == 1);
}

TEST_CASE("chain bundles: one signature over many ops, each op executed and reported on its own", "[consensus]") {
  const auto alice = identity(1), bob = identity(2);
  const std::vector<TxOp> ops = {{"kv.put", args({{"key", Value("a")}, {"value", Value(1)}})},
                                 {"kv.cas", args({{"key", Value("a")}, {"value", Value(2)}, {"expect", Value(7)}})},
                                 {"kv.put", args({{"key", Value("b")}, {"value", Value(3)}})}};
  const Bytes bundle = encode_signed_bundle(alice, 40, ops);
  auto tx = decode_tx(bundle);
  REQUIRE(tx.ok());
  CHECK(tx->bundle);
  CHECK(tx->ops.size() == 3);
  CHECK(verify_tx(*tx));
  // The signature covers the documented bytes: check it with libsodium through the peer id,
  // over the signing message built here by hand.
  Bytes pk(alice.peer_id().bytes().begin(), alice.peer_id().bytes().end());
  Array wire_ops;
  for (const auto& o : ops) wire_ops.push_back(Value(Array{Value(o.op), o.args}));
  const Bytes msg = codec::encode(Value(Array{Value("nitro-txs"), Value(pk), Value(std::uint64_t{40}), Value(wire_ops)}));
  CHECK(alice.peer_id().verify(msg, tx->signature));
  // The tx is the documented array, byte for byte.
  CHECK(bundle == codec::encode(Value(Array{Value(pk), Value(std::uint64_t{40}), Value(wire_ops), Value(tx->signature)})));
  // The same with 20 ops (msgpack's 16-bit array header) and a longer op name.
  std::vector<TxOp> twenty;
  Array wire_twenty;
  for (int i = 0; i < 20; ++i) {
    twenty.push_back({"kv.put" + std::string(40, 'x'), args({{"key", Value("k" + std::to_string(i))}, {"value", Value(i)}})});
    wire_twenty.push_back(Value(Array{Value(twenty.back().op), twenty.back().args}));
  }
  const Bytes bundle20 = encode_signed_bundle(alice, 7, twenty);
  auto tx20 = decode_tx(bundle20);
  REQUIRE(tx20.ok());
  CHECK(tx20->ops.size() == 20);
  CHECK(verify_tx(*tx20));
  CHECK(alice.peer_id().verify(codec::encode(Value(Array{Value("nitro-txs"), Value(pk), Value(std::uint64_t{7}), Value(wire_twenty)})),
                               tx20->signature));
  CHECK(bundle20 == codec::encode(Value(Array{Value(pk), Value(std::uint64_t{7}), Value(wire_twenty), Value(tx20->signature)})));
  // Another sender's key, a changed op or a changed nonce do not verify.
  Tx forged = *tx;
  forged.sender = bob.peer_id();
  CHECK_FALSE(verify_tx(forged));
  forged = *tx;
  forged.ops[2].args = Value(9);
  CHECK_FALSE(verify_tx(forged));
  forged = *tx;
  forged.nonce = 41;
  CHECK_FALSE(verify_tx(forged));
  // Bounds: no empty bundle, no more than kBundleOpsMax ops.
  const Bytes empty = codec::encode(Value(Array{Value(pk), Value(1), Value(Array{}), Value(Bytes(64, 0))}));
  CHECK(decode_tx(empty).status().code() == Code::kDecodeError);
  Array many(kBundleOpsMax + 1, Value(Array{Value("kv.put"), Value()}));
  const Bytes big = codec::encode(Value(Array{Value(pk), Value(1), Value(std::move(many)), Value(Bytes(64, 0))}));
  CHECK(decode_tx(big).status().code() == Code::kDecodeError);

  // Execution: three outcomes in op order with ids sha256(msgpack(["nitro-op", sender, nonce + i])),
  // the failed cas in the middle leaving the ops around it applied.
  Executor ex;
  auto outs = ex.execute({1, 1000, PeerId{}, 0}, {bundle});
  REQUIRE(outs.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    const Hash id = sha256(codec::encode(Value(Array{Value("nitro-op"), Value(pk), Value(std::uint64_t{40 + i})})));
    CHECK(outs[i].id == id);
    CHECK(outs[i].sender == alice.peer_id());
  }
  CHECK(outs[0].ok);
  CHECK_FALSE(outs[1].ok);
  CHECK(outs[2].ok);
  REQUIRE(ex.store().get("a"));
  CHECK(ex.store().get("a")->value == Value(1));
  REQUIRE(ex.store().get("b"));
  CHECK(ex.store().get("b")->value == Value(3));
}
