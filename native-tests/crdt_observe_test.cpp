// crdt::Doc observation and anchors in the core: random concurrent edits on three replicas with
// change handlers. Oracles independent of how deltas are computed: every Text/List delta turns
// the content before the transaction into the content after it, every map key change names the
// value the key really held before; a relative position anchored on a unique list element
// resolves next to that element while it lives; erase_ids removes exactly the given units.
#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "nitro/crdt.h"
#include "test_util.h"

namespace {

namespace crdt = nitro::crdt;
using nitro::Array;
using nitro::Value;

std::u16string replay(const std::u16string& before, const std::vector<crdt::DeltaOp>& delta) {
  std::u16string out;
  std::size_t i = 0;
  for (const auto& op : delta) {
    if (op.op == crdt::DeltaOp::Op::kRetain) out.append(before, i, op.len), i += op.len;
    if (op.op == crdt::DeltaOp::Op::kDelete) i += op.len;
    if (op.op == crdt::DeltaOp::Op::kInsert) out += op.text;
  }
  REQUIRE(i <= before.size());
  return out + before.substr(i);
}

Array replay(const Array& before, const std::vector<crdt::DeltaOp>& delta) {
  Array out;
  std::size_t i = 0;
  for (const auto& op : delta) {
    if (op.op == crdt::DeltaOp::Op::kRetain) out.insert(out.end(), before.begin() + i, before.begin() + i + op.len), i += op.len;
    if (op.op == crdt::DeltaOp::Op::kDelete) i += op.len;
    if (op.op == crdt::DeltaOp::Op::kInsert) out.insert(out.end(), op.values.begin(), op.values.end());
  }
  REQUIRE(i <= before.size());
  out.insert(out.end(), before.begin() + i, before.end());
  return out;
}

struct Mirror {  // what the observer believes each type holds
  std::u16string text;
  Array list;
  std::map<std::string, Value> map;
};

}  // namespace

TEST_CASE("crdt observe: deltas and key changes replay onto the previous state", "[crdt][observe]") {
  for (std::uint64_t seed : nitro::test::test_seeds("crdt-observe", 40)) {
    INFO("reproduce with NITRO_SEED=" << seed);
    nitro::test::SplitMix rng{seed};
    std::vector<std::unique_ptr<crdt::Doc>> docs;
    std::vector<Mirror> mirrors(3);
    std::size_t events = 0;
    for (crdt::ClientId c = 1; c <= 3; ++c) {
      docs.push_back(std::make_unique<crdt::Doc>(c * 11));
      crdt::Doc* d = docs.back().get();
      Mirror* m = &mirrors[c - 1];
      const auto text = d->get_text("t").id(), list = d->get_list("l").id(), map = d->get_map("m").id();
      d->set_change_handler([=, &events](const crdt::Changes& ch) {
        for (const auto& t : ch.types) {
          ++events;
          if (t.type == text) m->text = replay(m->text, t.delta);
          if (t.type == list) m->list = replay(m->list, t.delta);
          if (t.type != map) continue;
          for (const auto& k : t.keys) {
            auto held = m->map.find(k.key);
            REQUIRE((k.action == crdt::KeyChange::Action::kAdd) == (held == m->map.end()));
            if (held != m->map.end()) REQUIRE(k.old_value == held->second);
            if (k.action == crdt::KeyChange::Action::kDelete) m->map.erase(k.key);
            else m->map[k.key] = *d->get_map("m").get(k.key);
          }
        }
      });
    }
    std::int64_t next = 0;
    for (int step = 0; step < 300; ++step) {
      crdt::Doc& d = *docs[rng.below(3)];
      auto t = d.get_text("t");
      auto l = d.get_list("l");
      auto m = d.get_map("m");
      switch (rng.below(7)) {
        case 0: REQUIRE(t.insert(rng.below(t.length() + 1), std::string("xyz").substr(0, 1 + rng.below(3))).ok()); break;
        case 1: if (t.length()) { auto p = rng.below(t.length()); REQUIRE(t.erase(p, 1 + rng.below(std::min<std::size_t>(3, t.length() - p))).ok()); } break;
        case 2: REQUIRE(l.insert(rng.below(l.length() + 1), Array{Value{next++}}).ok()); break;
        case 3: if (l.length()) REQUIRE(l.erase(rng.below(l.length()), 1).ok()); break;
        case 4: REQUIRE(m.set("k" + std::to_string(rng.below(4)), Value{next++}).ok()); break;
        case 5: REQUIRE(m.erase("k" + std::to_string(rng.below(4))).ok()); break;
        default: {
          crdt::Doc& a = *docs[rng.below(3)];
          auto u = d.encode_state_as_update(a.encode_state_vector());
          REQUIRE(u.ok());
          REQUIRE(a.apply_update(*u).ok());
        }
      }
      for (std::size_t k = 0; k < 3; ++k) {
        REQUIRE(mirrors[k].text == docs[k]->get_text("t").to_utf16());
        REQUIRE(mirrors[k].list == docs[k]->get_list("l").to_array());
        REQUIRE(mirrors[k].map.size() == docs[k]->get_map("m").keys().size());
      }
    }
    REQUIRE(events > 100);
  }
}

TEST_CASE("crdt anchors: relative positions follow their element, erase_ids removes exactly its units", "[crdt][observe]") {
  for (std::uint64_t seed : nitro::test::test_seeds("crdt-anchors", 40)) {
    INFO("reproduce with NITRO_SEED=" << seed);
    nitro::test::SplitMix rng{seed};
    crdt::Doc a(5), b(6);
    struct Anchor { std::int64_t value; crdt::RelativePosition pos; };
    std::vector<Anchor> anchors;
    std::int64_t next = 0;
    for (int step = 0; step < 300; ++step) {
      crdt::Doc& d = rng.percent(50) ? a : b;
      auto l = d.get_list("l");
      switch (rng.below(5)) {
        case 0: case 1: REQUIRE(l.insert(rng.below(l.length() + 1), Array{Value{next++}}).ok()); break;
        case 2: if (l.length()) REQUIRE(l.erase(rng.below(l.length()), 1).ok()); break;
        case 3: if (l.length()) {
          const auto i = rng.below(l.length());
          const std::int32_t assoc = rng.percent(50) ? 0 : -1;
          auto p = d.relative_position(l.id(), assoc < 0 ? i + 1 : i, assoc);
          REQUIRE(p.ok());
          anchors.push_back({l.get(i)->as<std::int64_t>(), *p});
        } break;
        default: {
          crdt::Doc& other = &d == &a ? b : a;
          auto u = d.encode_state_as_update(other.encode_state_vector());
          REQUIRE(u.ok());
          REQUIRE(other.apply_update(*u).ok());
        }
      }
      for (crdt::Doc* doc : {&a, &b}) {
        const Array values = doc->get_list("l").to_array();
        for (const auto& an : anchors) {
          auto got = doc->resolve(doc->get_list("l").id(), an.pos);
          auto at = std::find(values.begin(), values.end(), Value{an.value});
          if (!got || at == values.end()) continue;
          REQUIRE(*got == static_cast<std::size_t>(at - values.begin()) + (an.pos.assoc < 0 ? 1 : 0));
        }
      }
    }
    // erase_ids: the units of a's first insertion go, wherever they are now, and nothing else
    auto la = a.get_list("l");
    REQUIRE(la.insert(0, Array{Value{-1}, Value{-2}}).ok());
    auto first = a.relative_position(la.id(), 0, 0);
    REQUIRE(first.ok());
    REQUIRE(la.insert(1, Array{Value{-3}}).ok());  // another insertion between them
    const std::size_t before = la.length();
    REQUIRE(a.erase_ids(la.id(), *first->item, 2).ok());
    REQUIRE(la.length() == before - 2);
    REQUIRE(la.get(0) == Value{-3});
  }
}
