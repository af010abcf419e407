#include <catch2/catch.hpp>

#include <sodium.h>

#include <algorithm>
#include <deque>
#include <map>
#include <sstream>

#include "crdt_trace.h"
#include "nitro/codec.h"
#include "nitro/crdt.h"
#include "nitro/identity.h"
#include "test_util.h"

using namespace nitro;
using Bytes = std::vector<std::uint8_t>;

namespace {

using Rng = nitro::test::SplitMix;

// Everything observable about a doc's shared types, as one comparable string.
std::string snapshot(crdt::Doc& d) {
  std::ostringstream s;
  s << "text=" << d.get_text("t").to_string() << "|u16len=" << d.get_text("t").length();
  s << "|list=" << test::to_hex(codec::encode(Value{d.get_list("l").to_array()}));
  s << "|map=" << test::to_hex(codec::encode(Value{d.get_map("m").to_map()}));
  s << "|counter=" << d.get_counter("c").value();
  s << "|set=" << test::to_hex(codec::encode(Value{d.get_set("s").values()}));
  return s.str();
}

Status sync(crdt::Doc& from, crdt::Doc& to) {
  auto delta = from.encode_state_as_update(to.encode_state_vector());
  if (!delta.ok()) return delta.status();
  return to.apply_update(*delta);
}

}  // namespace

TEST_CASE("crdt: text insert, delete and UTF-16 positions", "[crdt]") {
  crdt::Doc d(1);
  auto t = d.get_text("t");
  REQUIRE(t.insert(0, "hello world").ok());
  REQUIRE(t.insert(5, ",").ok());
  REQUIRE(t.erase(0, 1).ok());
  REQUIRE(t.insert(0, "H").ok());
  CHECK(t.to_string() == "Hello, world");
  CHECK(t.length() == 12);
  REQUIRE(t.insert(12, "\xF0\x9F\x98\x80!").ok());  // U+1F600: two UTF-16 units
  CHECK(t.length() == 15);
  REQUIRE(t.insert(13, "x").ok());  // between the surrogates, as JS allows
  CHECK(t.to_utf16().size() == 16);
  REQUIRE(t.erase(13, 1).ok());
  CHECK(t.to_string() == "Hello, world\xF0\x9F\x98\x80!");
  CHECK(t.insert(100, "x").code() == Code::kInvalidArgument);
  CHECK(t.erase(10, 10).code() == Code::kInvalidArgument);
  CHECK(t.to_string() == "Hello, world\xF0\x9F\x98\x80!");

  crdt::Doc e(2);  // lone surrogates survive the wire
  REQUIRE(e.apply_update(d.encode_state()).ok());
  CHECK(e.get_text("t").to_utf16() == t.to_utf16());
}

TEST_CASE("crdt: typing runs are one item", "[crdt]") {
  crdt::Doc d(1);
  auto t = d.get_text("t");
  for (int i = 0; i < 1000; ++i) REQUIRE(t.insert(t.length(), "x").ok());
  CHECK(d.item_count() == 1);
  crdt::Doc e(2);
  for (int i = 0; i < 100; ++i) {  // remote runs merge too
    REQUIRE(t.insert(t.length(), "y").ok());
  }
  REQUIRE(e.apply_update(d.encode_state()).ok());
  CHECK(e.item_count() == 1);
}

TEST_CASE("crdt: list, map, counter, set", "[crdt]") {
  crdt::Doc d(1);
  auto l = d.get_list("l");
  REQUIRE(l.push(Value{1}).ok());
  std::vector<Value> two{Value{"a"}, Value{"b"}};
  REQUIRE(l.insert(0, two).ok());
  REQUIRE(l.erase(1, 1).ok());
  CHECK(l.to_array() == Array{Value{"a"}, Value{1}});
  CHECK(*l.get(1) == Value{1});
  CHECK_FALSE(l.get(2).has_value());

  auto m = d.get_map("m");
  REQUIRE(m.set("k", Value{Map{{Value{"nested"}, Value{Array{Value{1}, Value{2}}}}}}).ok());
  REQUIRE(m.set("j", Value{true}).ok());
  REQUIRE(m.set("k", Value{2}).ok());
  REQUIRE(m.erase("j").ok());
  CHECK(m.keys() == std::vector<std::string>{"k"});
  CHECK(*m.get("k") == Value{2});
  CHECK(m.get("j") == nullptr);

  auto c = d.get_counter("c");
  REQUIRE(c.increment(5).ok());
  REQUIRE(c.increment(-7).ok());
  CHECK(c.value() == -2);

  auto s = d.get_set("s");
  REQUIRE(s.add(Value{"x"}).ok());
  REQUIRE(s.add(Value{"x"}).ok());
  REQUIRE(s.add(Value{3}).ok());
  REQUIRE(s.erase(Value{"x"}).ok());
  CHECK_FALSE(s.has(Value{"x"}));
  CHECK(s.has(Value{3}));
  CHECK(s.size() == 1);

  crdt::Doc e(2);
  REQUIRE(e.apply_update(d.encode_state()).ok());
  CHECK(snapshot(e) == snapshot(d));
  CHECK(d.get_text("m").length() == 0);  // kinds have separate namespaces
}

TEST_CASE("crdt: nested types in maps and lists", "[crdt]") {
  crdt::Doc a(1), b(2);
  auto m = a.get_map("m");
  auto nt = m.set_nested("notes", crdt::SharedKind::kText);
  REQUIRE(nt.ok());
  REQUIRE(a.text(*nt).insert(0, "nested").ok());
  auto l = a.get_list("l");
  auto nm = l.insert_nested(0, crdt::SharedKind::kMap);
  REQUIRE(nm.ok());
  REQUIRE(a.map(*nm).set("k", Value{1}).ok());
  auto deep = a.map(*nm).set_nested("c", crdt::SharedKind::kCounter);
  REQUIRE(deep.ok());
  REQUIRE(a.counter(*deep).increment(4).ok());
  CHECK(m.get("notes") == nullptr);
  CHECK(m.to_map() == nitro::Map{{Value{"notes"}, Value{"nested"}}});
  CHECK(l.to_array() == Array{Value{nitro::Map{{Value{"c"}, Value{4}}, {Value{"k"}, Value{1}}}}});

  REQUIRE(b.apply_update(a.encode_state()).ok());
  auto bn = b.get_map("m").get_nested("notes");
  REQUIRE(bn.has_value());
  CHECK(bn->kind == crdt::SharedKind::kText);
  REQUIRE(b.text(*bn).insert(6, "!").ok());
  REQUIRE(a.text(*nt).insert(0, ">").ok());
  REQUIRE(sync(a, b).ok());
  REQUIRE(sync(b, a).ok());
  CHECK(a.text(*nt).to_string() == ">nested!");
  CHECK(snapshot(a) == snapshot(b));

  REQUIRE(b.get_map("m").set("notes", Value{"plain"}).ok());  // replace the nested text by a value
  REQUIRE(sync(b, a).ok());
  CHECK(*a.get_map("m").get("notes") == Value{"plain"});
  CHECK_FALSE(a.get_map("m").get_nested("notes").has_value());
  crdt::Doc c(3);  // a deleted nested type still decodes (its content stays addressable)
  REQUIRE(c.apply_update(a.encode_state()).ok());
  CHECK(snapshot(c) == snapshot(a));

  crdt::Doc e(4);
  auto cur = e.get_map("root");
  for (std::uint32_t level = 0; level < crdt::kNestingMax; ++level) {
    auto next = cur.set_nested("down", crdt::SharedKind::kMap);
    REQUIRE(next.ok());
    cur = e.map(*next);
  }
  CHECK(cur.set_nested("down", crdt::SharedKind::kMap).status().code() == Code::kInvalidArgument);
  crdt::Doc f(5);
  REQUIRE(f.apply_update(e.encode_state()).ok());
}

TEST_CASE("crdt: concurrent semantics", "[crdt]") {
  crdt::Doc a(1), b(2);
  SECTION("concurrent runs at one position do not interleave") {
    REQUIRE(a.get_text("t").insert(0, "[]").ok());
    REQUIRE(sync(a, b).ok());
    for (char ch : std::string("AAAA")) REQUIRE(a.get_text("t").insert(a.get_text("t").length() - 1, std::string(1, ch)).ok());
    for (char ch : std::string("bbbb")) REQUIRE(b.get_text("t").insert(b.get_text("t").length() - 1, std::string(1, ch)).ok());
    REQUIRE(sync(a, b).ok());
    REQUIRE(sync(b, a).ok());
    CHECK(a.get_text("t").to_string() == b.get_text("t").to_string());
    const auto s = a.get_text("t").to_string();
    CHECK((s == "[AAAAbbbb]" || s == "[bbbbAAAA]"));
  }
  SECTION("set: a concurrent add wins over a remove") {
    REQUIRE(a.get_set("s").add(Value{"x"}).ok());
    REQUIRE(sync(a, b).ok());
    REQUIRE(a.get_set("s").erase(Value{"x"}).ok());
    REQUIRE(b.get_set("s").add(Value{"x"}).ok());
    REQUIRE(sync(a, b).ok());
    REQUIRE(sync(b, a).ok());
    CHECK(a.get_set("s").has(Value{"x"}));
    CHECK(b.get_set("s").has(Value{"x"}));
  }
  SECTION("map: concurrent sets converge on one value, counter sums") {
    REQUIRE(a.get_map("m").set("k", Value{"a"}).ok());
    REQUIRE(b.get_map("m").set("k", Value{"b"}).ok());
    REQUIRE(a.get_counter("c").increment(2).ok());
    REQUIRE(b.get_counter("c").increment(3).ok());
    REQUIRE(sync(a, b).ok());
    REQUIRE(sync(b, a).ok());
    CHECK(snapshot(a) == snapshot(b));
    CHECK(a.get_counter("c").value() == 5);
  }
}

TEST_CASE("crdt: transactions batch edits into one update with its origin", "[crdt]") {
  crdt::Doc a(1), b(2);
  std::vector<std::pair<Bytes, std::uint64_t>> updates;
  a.set_update_handler([&](std::span<const std::uint8_t> u, std::uint64_t origin) {
    updates.emplace_back(Bytes(u.begin(), u.end()), origin);
  });
  a.transact([&] {
    REQUIRE(a.get_text("t").insert(0, "abc").ok());
    REQUIRE(a.get_text("t").erase(1, 1).ok());
    REQUIRE(a.get_map("m").set("k", Value{1}).ok());
  }, 42);
  REQUIRE(updates.size() == 1);
  CHECK(updates[0].second == 42);
  REQUIRE(a.get_text("t").insert(0, "z").ok());
  REQUIRE(updates.size() == 2);
  for (const auto& [u, o] : updates) REQUIRE(b.apply_update(u).ok());
  CHECK(snapshot(a) == snapshot(b));

  std::size_t echoed = 0;  // duplicates are not re-announced
  b.set_update_handler([&](std::span<const std::uint8_t>, std::uint64_t origin) { echoed += origin == 7; });
  REQUIRE(b.apply_update(updates[0].first, 7).ok());
  CHECK(echoed == 0);
  REQUIRE(b.get_text("t").insert(0, "q").ok());
  REQUIRE(a.apply_update(b.encode_state(), 7).ok());
  CHECK(snapshot(a) == snapshot(b));
}

TEST_CASE("crdt: out of order updates wait, duplicates are idempotent, state vectors give deltas", "[crdt]") {
  crdt::Doc a(1), b(2);
  std::vector<Bytes> updates;
  a.set_update_handler([&](std::span<const std::uint8_t> u, std::uint64_t) { updates.emplace_back(u.begin(), u.end()); });
  auto t = a.get_text("t");
  for (int i = 0; i < 20; ++i) REQUIRE(t.insert(i % 3 == 0 ? 0 : t.length(), std::string(1, char('a' + i))).ok());
  REQUIRE(t.erase(3, 4).ok());
  std::reverse(updates.begin(), updates.end());
  for (const auto& u : updates) REQUIRE(b.apply_update(u).ok());
  for (const auto& u : updates) REQUIRE(b.apply_update(u).ok());
  CHECK(b.pending_count() == 0);
  CHECK(b.get_text("t").to_string() == t.to_string());

  REQUIRE(t.insert(2, "NEW").ok());
  auto delta = a.encode_state_as_update(b.encode_state_vector());
  REQUIRE(delta.ok());
  CHECK(delta->size() < a.encode_state().size());
  REQUIRE(b.apply_update(*delta).ok());
  CHECK(b.get_text("t").to_string() == t.to_string());
  CHECK(a.encode_state_as_update(Bytes{1, 9}).status().code() == Code::kDecodeError);
}

TEST_CASE("crdt: bad updates are typed errors and leave the doc unchanged", "[crdt]") {
  crdt::Doc a(1);
  REQUIRE(a.get_text("t").insert(0, "hello").ok());
  REQUIRE(a.get_list("l").push(Value{"v"}).ok());
  REQUIRE(a.get_map("m").set("k", Value{1}).ok());
  REQUIRE(a.get_text("t").erase(1, 2).ok());
  const Bytes good = a.encode_state();

  crdt::Doc b(2);
  REQUIRE(b.get_text("t").insert(0, "mine").ok());
  const Bytes before = b.encode_state();
  const std::string seen = snapshot(b);
  auto unchanged = [&] {
    CHECK(b.encode_state() == before);
    CHECK(snapshot(b) == seen);
    CHECK(b.pending_count() == 0);
  };
  SECTION("truncated at every length") {
    for (std::size_t n = 0; n < good.size(); ++n) {
      auto s = b.apply_update(std::span(good.data(), n));
      REQUIRE_FALSE(s.ok());
      CHECK(s.code() == Code::kDecodeError);
    }
    unchanged();
  }
  SECTION("unknown version and frame kind") {
    Bytes v = good;
    v[0] = 2;
    CHECK(b.apply_update(v).code() == Code::kDecodeError);
    v = good;
    v[0] = 0x19;
    CHECK(b.apply_update(v).code() == Code::kDecodeError);
    unchanged();
  }
  SECTION("every single-byte corruption is rejected or applies consistently") {
    Rng rng{7};
    for (std::size_t i = 0; i < good.size(); ++i) {
      Bytes v = good;
      v[i] ^= static_cast<std::uint8_t>(1 + rng.below(255));
      crdt::Doc c(3);
      auto s = c.apply_update(v);
      if (!s.ok()) {
        CHECK((s.code() == Code::kDecodeError || s.code() == Code::kResourceExhausted));
        CHECK(c.encode_state() == crdt::Doc(3).encode_state());
      } else {
        crdt::Doc e(4);  // whatever was accepted re-encodes to something that decodes
        REQUIRE(e.apply_update(c.encode_state()).ok());
        CHECK(snapshot(e) == snapshot(c));
      }
    }
  }
  SECTION("trailing bytes") {
    Bytes v = good;
    v.push_back(0);
    CHECK(b.apply_update(v).code() == Code::kDecodeError);
    unchanged();
  }
}

TEST_CASE("crdt: signed updates and restricted writers", "[crdt]") {
  REQUIRE(sodium_init() >= 0);
  auto keypair = [](std::uint8_t seed_byte) {
    std::uint8_t seed[32];
    std::fill(std::begin(seed), std::end(seed), seed_byte);
    Bytes pk(32), sk(64);
    crypto_sign_seed_keypair(pk.data(), sk.data(), seed);
    return std::make_pair(pk, sk);
  };
  auto [pk1, sk1] = keypair(1);
  auto [pk2, sk2] = keypair(2);
  auto [pk3, sk3] = keypair(3);

  crdt::Doc w1(0), w2(0), reader(9), outsider(0);
  REQUIRE(w1.set_signer(sk1).ok());
  REQUIRE(w2.set_signer(sk2).ok());
  REQUIRE(outsider.set_signer(sk3).ok());
  CHECK(w1.client_id() == crdt::client_id_from_public_key(std::span<const std::uint8_t, 32>(pk1.data(), 32)));
  for (auto* d : {&w1, &w2, &reader}) REQUIRE(d->restrict_writers({pk1, pk2}).ok());

  std::vector<Bytes> from1;
  w1.set_update_handler([&](std::span<const std::uint8_t> u, std::uint64_t) { from1.emplace_back(u.begin(), u.end()); });
  REQUIRE(w1.get_text("t").insert(0, "signed").ok());
  REQUIRE(w1.get_text("t").erase(0, 1).ok());  // delete-only transactions are signed too
  REQUIRE(from1.size() == 2);
  for (const auto& u : from1) REQUIRE(reader.apply_update(u).ok());
  CHECK(reader.get_text("t").to_string() == "igned");

  REQUIRE(sync(reader, w2).ok());
  REQUIRE(w2.get_text("t").insert(0, ">").ok());
  REQUIRE(sync(w2, reader).ok());
  CHECK(reader.get_text("t").to_string() == ">igned");
  crdt::Doc late(10);  // a late joiner catches up from the reader's relayed envelopes
  REQUIRE(late.restrict_writers({pk1, pk2}).ok());
  REQUIRE(late.apply_update(reader.encode_state()).ok());
  CHECK(late.get_text("t").to_string() == ">igned");

  crypto::Seed seed1;  // a node identity signs like the raw key it comes from
  seed1.fill(1);
  crdt::Doc w1_again(0);
  REQUIRE(w1_again.set_signer(crypto::Identity::from_seed(seed1)).ok());
  CHECK(w1_again.client_id() == w1.client_id());
  CHECK(w1_again.set_signer(sk2).ok());  // no edit yet: may still switch
  CHECK(w1_again.set_signer(Bytes(5)).code() == Code::kInvalidArgument);

  const Bytes before = reader.encode_state();
  SECTION("unsigned updates are refused") {
    crdt::Doc plain(11);
    REQUIRE(plain.get_text("t").insert(0, "x").ok());
    CHECK(reader.apply_update(plain.encode_state()).code() == Code::kPermissionDenied);
  }
  SECTION("a key outside the writer set is refused") {
    std::vector<Bytes> out;
    outsider.set_update_handler([&](std::span<const std::uint8_t> u, std::uint64_t) { out.emplace_back(u.begin(), u.end()); });
    REQUIRE(outsider.get_text("t").insert(0, "evil").ok());
    REQUIRE(out.size() == 1);
    CHECK(reader.apply_update(out[0]).code() == Code::kPermissionDenied);
  }
  SECTION("a forged signature is refused") {
    Bytes forged = from1[0];
    forged.back() ^= 1;
    CHECK(reader.apply_update(forged).code() == Code::kUnauthenticated);
    forged = from1[0];
    forged[40] ^= 1;
    CHECK(reader.apply_update(forged).code() == Code::kUnauthenticated);
  }
  SECTION("local edits need an allowed signer") {
    CHECK(reader.get_text("t").insert(0, "x").code() == Code::kPermissionDenied);
  }
  CHECK(reader.encode_state() == before);
}

TEST_CASE("crdt: 5 replicas converge under reordering, duplication and partitions", "[crdt][random]") {
  const char* env_seeds = std::getenv("NITRO_CRDT_SEEDS");  // soak runs: more seeds
  const int seeds = env_seeds ? std::atoi(env_seeds) : 150;
  for (int seed = 1; seed <= seeds; ++seed) {
    INFO("reproduce with seed=" << seed);
    Rng rng{static_cast<std::uint64_t>(seed)};
    constexpr int kReplicas = 5;
    std::vector<std::unique_ptr<crdt::Doc>> docs;
    struct Msg {
      int to;
      Bytes bytes;
    };
    std::vector<Msg> net;
    for (int r = 0; r < kReplicas; ++r) {
      docs.push_back(std::make_unique<crdt::Doc>(1000 + rng.below(1000000)));
      docs.back()->set_update_handler([&, r](std::span<const std::uint8_t> u, std::uint64_t origin) {
        if (origin != 0) return;  // only local edits are broadcast
        for (int to = 0; to < kReplicas; ++to) {
          if (to != r) net.push_back(Msg{to, Bytes(u.begin(), u.end())});
        }
      });
    }
    const int partition_percent = static_cast<int>(rng.below(60));  // swarm: vary the fault mix
    const int dup_percent = static_cast<int>(rng.below(30));
    std::uint32_t cut = 0;  // bitmask of replicas cut off from the rest
    for (int step = 0; step < 300; ++step) {
      if (rng.percent(5)) cut = rng.percent(partition_percent) ? static_cast<std::uint32_t>(rng.below(31)) : 0;
      if (rng.percent(55)) {
        crdt::Doc& d = *docs[rng.below(kReplicas)];
        auto edit = [&] {
          auto t = d.get_text("t");
          switch (rng.below(10)) {
            case 0: case 1: case 2: {
              static const char* pieces[] = {"a", "bc", "def", "\xC3\xA9", "\xF0\x9F\x98\x80", "xyz12"};
              REQUIRE(t.insert(rng.below(t.length() + 1), pieces[rng.below(6)]).ok());
              break;
            }
            case 3:
              if (t.length() > 0) {
                auto pos = rng.below(t.length());
                REQUIRE(t.erase(pos, 1 + rng.below(std::min<std::size_t>(5, t.length() - pos))).ok());
              }
              break;
            case 4: {
              auto l = d.get_list("l");
              if (l.length() > 0 && rng.percent(40)) REQUIRE(l.erase(rng.below(l.length()), 1).ok());
              else REQUIRE(l.insert(rng.below(l.length() + 1), std::vector<Value>{Value{int(rng.below(100))}}).ok());
              break;
            }
            case 5: {
              auto m = d.get_map("m");
              std::string key(1, char('a' + rng.below(4)));
              if (rng.percent(25)) REQUIRE(m.erase(key).ok());
              else REQUIRE(m.set(key, Value{int(rng.below(1000))}).ok());
              break;
            }
            case 6: REQUIRE(d.get_counter("c").increment(int(rng.below(11)) - 5).ok()); break;
            case 7: {  // nested types: a text inside the map, a map inside the list
              auto m = d.get_map("m");
              auto n = m.get_nested("n");
              if (!n || rng.percent(10)) {
                REQUIRE(m.set_nested("n", crdt::SharedKind::kText).ok());
              } else {
                auto nt = d.text(*n);
                REQUIRE(nt.insert(rng.below(nt.length() + 1), std::string(1, char('A' + rng.below(26)))).ok());
              }
              auto l = d.get_list("l");
              auto first = l.length() ? l.get_nested(0) : std::nullopt;
              if (first) REQUIRE(d.map(*first).set("x", Value{int(rng.below(9))}).ok());
              else if (rng.percent(30)) REQUIRE(l.insert_nested(0, crdt::SharedKind::kMap).ok());
              break;
            }
            default: {
              auto s = d.get_set("s");
              Value v{int(rng.below(5))};
              if (rng.percent(40)) REQUIRE(s.erase(v).ok());
              else REQUIRE(s.add(v).ok());
            }
          }
        };
        if (rng.percent(20)) {
          d.transact([&] { for (int k = 0, n = 1 + int(rng.below(4)); k < n; ++k) edit(); });
        } else {
          edit();
        }
      } else if (!net.empty()) {  // deliver a random message unless the partition holds it
        std::size_t i = rng.below(net.size());
        Msg m = net[i];
        const bool held = (cut >> m.to) & 1;
        if (held) continue;
        if (!rng.percent(dup_percent)) {
          net[i] = std::move(net.back());
          net.pop_back();
        }
        REQUIRE(docs[m.to]->apply_update(m.bytes, 1).ok());
      }
    }
    // heal: deliver everything in random order, then a full state-vector round
    while (!net.empty()) {
      std::size_t i = rng.below(net.size());
      Msg m = std::move(net[i]);
      net[i] = std::move(net.back());
      net.pop_back();
      REQUIRE(docs[m.to]->apply_update(m.bytes, 1).ok());
    }
    for (int r = 0; r < kReplicas; ++r) REQUIRE(docs[r]->pending_count() == 0);
    const std::string expect = snapshot(*docs[0]);
    for (int r = 1; r < kReplicas; ++r) REQUIRE(snapshot(*docs[r]) == expect);
    crdt::Doc fresh(7);
    REQUIRE(fresh.apply_update(docs[rng.below(kReplicas)]->encode_state()).ok());
    REQUIRE(snapshot(fresh) == expect);
    REQUIRE(sync(*docs[1], *docs[2]).ok());
    REQUIRE(snapshot(*docs[2]) == expect);
  }
}

namespace {

void replay(const std::string& name) {
  auto trace = test::load_trace(test::shared_path("data/editing-traces/" + name));
  crdt::Doc d(1);
  auto t = d.get_text("text");
  for (const auto& txn : trace.txns) {
    for (const auto& p : txn) {
      if (p.del > 0) REQUIRE(t.erase(p.pos, p.del).ok());
      if (!p.ins.empty()) REQUIRE(t.insert_utf16(p.pos, p.ins).ok());
    }
  }
  REQUIRE(t.to_utf16() == trace.end_content);
  const Bytes state = d.encode_state();
  crdt::Doc loaded(2);
  REQUIRE(loaded.apply_update(state).ok());
  REQUIRE(loaded.get_text("text").to_utf16() == trace.end_content);
  CHECK(loaded.encode_state().size() <= state.size());
  WARN(name << ": " << trace.txns.size() << " txns, " << d.item_count() << " items, encoded " << state.size()
            << " bytes, loaded " << loaded.item_count() << " items");
}

}  // namespace

TEST_CASE("crdt: automerge-paper trace replays to endContent", "[crdt][trace]") { replay("automerge-paper.json.gz"); }
TEST_CASE("crdt: seph-blog1 trace replays to endContent", "[crdt][trace]") { replay("seph-blog1.json.gz"); }
