// The update format's packed text column (core/src/crdt/encoding_text.cpp): a large document's
// state is written packed (0x14) and loads back to the text the trace itself gives (plain string
// splicing, no CRDT); single edits stay in the plain format; updates of the previous format,
// written by the previous encoder, still load; a packed column that lies about its length is a
// typed error.
#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>

#include "crdt_trace.h"
#include "nitro/crdt.h"
#include "test_util.h"

using namespace nitro;
using Bytes = std::vector<std::uint8_t>;

namespace {

// The text after the first `count` transactions of a trace, by splicing a string.
std::u16string spliced(const test::Trace& trace, std::size_t count) {
  std::u16string s;
  for (std::size_t i = 0; i < count && i < trace.txns.size(); ++i) {
    for (const auto& p : trace.txns[i]) s = s.substr(0, p.pos) + p.ins + s.substr(p.pos + p.del);
  }
  return s;
}

void replay(crdt::Doc& doc, const test::Trace& trace, std::size_t count) {
  auto text = doc.get_text("text");
  for (std::size_t i = 0; i < count && i < trace.txns.size(); ++i) {
    for (const auto& p : trace.txns[i]) {
      if (p.del) REQUIRE(text.erase(p.pos, p.del).ok());
      if (!p.ins.empty()) REQUIRE(text.insert_utf16(p.pos, p.ins).ok());
    }
  }
}

Bytes read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), {});
}

}  // namespace

TEST_CASE("crdt encoding: a large state is packed and loads back to the trace's text", "[crdt]") {
  for (const char* name : {"automerge-paper.json.gz", "seph-blog1.json.gz"}) {
    INFO(name);
    const auto trace = test::load_trace(test::shared_path(std::string("data/editing-traces/") + name));
    crdt::Doc doc(1);
    replay(doc, trace, trace.txns.size());
    const Bytes state = doc.encode_state();
    CHECK(state[0] == 0x14);
    crdt::Doc loaded(2);
    REQUIRE(loaded.apply_update(state).ok());
    CHECK(loaded.get_text("text").to_utf16() == trace.end_content);
  }
}

TEST_CASE("crdt encoding: single edits stay in the plain format every version reads", "[crdt]") {
  crdt::Doc doc(1);
  Bytes last;
  doc.set_update_handler([&](std::span<const std::uint8_t> u, std::uint64_t) { last.assign(u.begin(), u.end()); });
  REQUIRE(doc.get_text("text").insert(0, "hello").ok());
  REQUIRE(!last.empty());
  CHECK(last[0] == 0x10);
  CHECK(doc.encode_state()[0] == 0x10);  // a small document: too short to pack
}

TEST_CASE("crdt encoding: a state written by the previous encoder still loads", "[crdt]") {
  // seph-blog1's first 4,000 transactions, encode_state() of the format before packing (0x10).
  const Bytes v1 = read_file(test::source_path("native-tests/data/crdt-v1-seph-blog1-4000.bin"));
  REQUIRE(v1.size() == 7640);
  REQUIRE(v1[0] == 0x10);
  const auto trace = test::load_trace(test::shared_path("data/editing-traces/seph-blog1.json.gz"));
  const auto expected = spliced(trace, 4000);
  crdt::Doc doc(2);
  REQUIRE(doc.apply_update(v1).ok());
  CHECK(doc.get_text("text").to_utf16() == expected);
  // Re-encoded, the same document is packed and smaller, and loads to the same text.
  const Bytes packed = doc.encode_state();
  CHECK(packed[0] == 0x14);
  CHECK(packed.size() < v1.size());
  crdt::Doc again(3);
  REQUIRE(again.apply_update(packed).ok());
  CHECK(again.get_text("text").to_utf16() == expected);
}

TEST_CASE("crdt encoding: a packed column read as plain or cut short is refused or keeps its length", "[crdt]") {
  crdt::Doc doc(1);
  std::string text;
  for (int i = 0; i < 200; ++i) text += "line " + std::to_string(i) + " of some text\n";
  REQUIRE(doc.get_text("text").insert(0, text).ok());
  const Bytes packed = doc.encode_state();
  REQUIRE(packed[0] == 0x14);
  // As the plain format, the packed column is not valid WTF-8 of the right length.
  Bytes plain = packed;
  plain[0] = 0x10;
  crdt::Doc a(2);
  CHECK_FALSE(a.apply_update(plain).ok());
  // Cut short: the coder reads zeros past the end, and the text no longer matches its items
  // (or still does, if only the tail was cut): never a crash, never a wrong length.
  for (std::size_t cut = 1; cut < 40; ++cut) {
    crdt::Doc b(2);
    const Bytes shorter(packed.begin(), packed.end() - cut);
    if (b.apply_update(shorter).ok()) CHECK(b.get_text("text").length() == text.size());
  }
}
