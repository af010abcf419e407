// The update format's coded text column (core/src/crdt/encoding_huffman.cpp): a large document's
// state is written coded (0x15) and loads back to the text the trace itself gives (plain string
// splicing, no CRDT); single edits stay in the plain format; updates of the previous formats
// (plain 0x10 from the previous encoder, 0x14 from the context-mixing coder) still load; a
// column that lies about its length is a typed error, refused before decoding when it declares
// more than its coder can expand to.
#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <iterator>

#include "crdt/state.h"
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
    CHECK(state[0] == 0x15);
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
  // Re-encoded, the same document is coded and smaller, and loads to the same text.
  const Bytes packed = doc.encode_state();
  CHECK(packed[0] == 0x15);
  CHECK(packed.size() < v1.size());
  crdt::Doc again(3);
  REQUIRE(again.apply_update(packed).ok());
  CHECK(again.get_text("text").to_utf16() == expected);
}

TEST_CASE("crdt encoding: the coder writes the bytes the previous coder wrote", "[crdt]") {
  // Written by the first 0x15 encoder (the bitwise one, before the coder was made faster): the
  // seph-blog1 state above, loaded into client 3, with two inserts of non-ASCII text (accents,
  // CJK, an astral pair and a lone surrogate) as below. The frame format is fixed: a faster coder
  // must produce it byte for byte, and read it back.
  const Bytes expected = read_file(test::source_path("native-tests/data/crdt-0x15-seph-blog1-4000.bin"));
  REQUIRE(expected.size() == 5201);
  crdt::Doc doc(3);
  REQUIRE(doc.apply_update(read_file(test::source_path("native-tests/data/crdt-v1-seph-blog1-4000.bin"))).ok());
  auto text = doc.get_text("text");
  REQUIRE(text.insert_utf16(0, u"na\u00efve caf\u00e9 \u2014 \u4e2d\u6587 \U0001F600 lone \xD83D end\n").ok());
  REQUIRE(text.insert_utf16(100, u"\u00bd \u00d7 \u03c0 \u2248 1.57\n").ok());
  const std::u16string content = text.to_utf16();
  CHECK(doc.encode_state() == expected);
  crdt::Doc loaded(4);
  REQUIRE(loaded.apply_update(expected).ok());
  CHECK(loaded.get_text("text").to_utf16() == content);
}

TEST_CASE("crdt encoding: a packed column read as plain or cut short is refused or keeps its length", "[crdt]") {
  crdt::Doc doc(1);
  std::string text;
  for (int i = 0; i < 200; ++i) text += "line " + std::to_string(i) + " of some text\n";
  REQUIRE(doc.get_text("text").insert(0, text).ok());
  const Bytes packed = doc.encode_state();
  REQUIRE(packed[0] == 0x15);
  // As the plain format, the coded column is not valid WTF-8 of the right length.
  Bytes plain = packed;
  plain[0] = 0x10;
  crdt::Doc a(2);
  CHECK_FALSE(a.apply_update(plain).ok());
  // Cut short: the codes run past the input (or the declared length outgrows the rest): refused.
  for (std::size_t cut = 1; cut < 40; ++cut) {
    crdt::Doc b(2);
    const Bytes shorter(packed.begin(), packed.end() - cut);
    CHECK_FALSE(b.apply_update(shorter).ok());
  }
}

namespace {

void put_varint(Bytes& out, std::uint64_t v) {
  for (; v >= 0x80; v >>= 7) out.push_back(static_cast<std::uint8_t>(v | 0x80));
  out.push_back(static_cast<std::uint8_t>(v));
}

// An update of one root text item of `units` units whose column (frame 0x14 or 0x15) declares
// `declared` bytes and carries `coded`.
Bytes column_frame(std::uint8_t frame, std::uint64_t units, std::uint64_t declared, const Bytes& coded) {
  // header, 1 client (id 1), 1 type (text "t"), no keys, 1 group (clock 0, 1 item)
  Bytes f = {frame, 0x01, 0x01, 0x01, 0x08, 't', 0x00, 0x01, 0x00, 0x01};
  f.push_back(0x01);  // a full item header: text, no origins
  put_varint(f, units);
  f.push_back(0x00);  // parent: root type 0
  f.push_back(0x00);  // no deletes
  put_varint(f, declared);
  f.insert(f.end(), coded.begin(), coded.end());
  return f;
}

Bytes noise(std::size_t n) {
  Bytes b;
  std::uint32_t x = 0x9e3779b9u;
  for (std::size_t i = 0; i < n; ++i) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    b.push_back(static_cast<std::uint8_t>(x));
  }
  return b;
}

}  // namespace

TEST_CASE("crdt encoding: a column declaring more than its coder can expand to is refused before decoding", "[crdt]") {
  crdt::Doc doc(1);
  REQUIRE(doc.get_text("t").insert(0, "kept as it was").ok());
  const Bytes before = doc.encode_state();
  // 512 KB declaring 32 MB (64x): the 0x14 frame that cost ~13 s of CPU when its cap was 64; just
  // over the 0x14 cap (16x); just over what a Huffman code can expand to (8x).
  const std::size_t n = 512u << 10;
  const Bytes coded = noise(n);
  const std::pair<std::uint8_t, std::uint64_t> frames[] = {{0x14, 32u << 20}, {0x14, 16 * n + 1}, {0x15, 8 * n + 1}};
  for (const auto& [frame, declared] : frames) {
    INFO(int{frame} << " declaring " << declared);
    const Bytes update = column_frame(frame, declared, declared, coded);
    const auto start = std::chrono::steady_clock::now();
    const Status s = doc.apply_update(update);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    CHECK(s.code() == Code::kResourceExhausted);
    // Decoding 4 MB or more through the 0x14 coder takes seconds: this bound means it did not run.
    CHECK(ms.count() < 250);
    CHECK(doc.encode_state() == before);
    CHECK(doc.pending_count() == 0);
    CHECK(doc.get_text("t").to_string() == "kept as it was");
  }
}

TEST_CASE("crdt encoding: a column within its cap is decoded and checked against its items", "[crdt]") {
  crdt::Doc doc(1);
  REQUIRE(doc.get_text("t").insert(0, "kept as it was").ok());
  const Bytes before = doc.encode_state();
  // At the cap the noise is decoded, and what it gives is not WTF-8 of the declared units (or,
  // for 0x15, not even a code table).
  const Bytes coded = noise(1024);
  for (const auto& [frame, ratio] : {std::pair<std::uint8_t, std::uint64_t>{0x14, 16}, {0x15, 8}}) {
    INFO(int{frame});
    const Status s = doc.apply_update(column_frame(frame, ratio * 1024, ratio * 1024, coded));
    CHECK(s.code() == Code::kDecodeError);
    CHECK(doc.encode_state() == before);
  }
}

TEST_CASE("crdt encoding: a column packed by the context-mixing coder (0x14) still loads", "[crdt]") {
  std::string text;
  for (int i = 0; i < 100; ++i) text += "int f" + std::to_string(i) + "(int x) { return x * " + std::to_string(i) + "; }\n";
  Bytes packed;
  crdt::detail::pack_text(text, packed);
  crdt::Doc doc(2);
  REQUIRE(doc.apply_update(column_frame(0x14, text.size(), text.size(), packed)).ok());
  CHECK(doc.get_text("t").to_string() == text);
}
