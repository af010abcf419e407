// crdt::DocSync messages and the writer-filtered delta: golden frames (hand-derived from the
// msgpack spec), decoder refusals, and relaying signed edits through an unrestricted replica.
#include <catch2/catch.hpp>

#include <map>
#include <sstream>

#include "nitro/codec.h"
#include "nitro/docsync.h"
#include "nitro/identity.h"
#include "test_util.h"

using namespace nitro;
namespace crdt = nitro::crdt;

namespace {

std::map<std::string, Bytes> golden() {
  std::map<std::string, Bytes> out;
  std::istringstream lines(test::read_file(test::source_path("golden/docsync-frames.txt")));
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string name, hex;
    fields >> name >> hex;
    out[name] = test::from_hex(hex);
  }
  return out;
}

crdt::SyncMessage vector_msg(std::string doc, bool ask_back, std::vector<Bytes> writers = {}) {
  crdt::SyncMessage m;
  m.kind = crdt::SyncMessage::Kind::kVector;
  m.doc = std::move(doc);
  m.bytes = {0x13, 0x00};  // an empty state vector
  m.ask_back = ask_back;
  m.writers = std::move(writers);
  return m;
}

std::map<std::string, crdt::SyncMessage> golden_messages() {
  std::map<std::string, crdt::SyncMessage> out;
  out["vector_board"] = vector_msg("board", true);
  out["vector_writers"] = vector_msg("b", false, {Bytes(32, 0x01)});
  crdt::SyncMessage up;
  up.kind = crdt::SyncMessage::Kind::kUpdate;
  up.doc = "b";
  up.bytes = {1, 2, 3};
  out["update_b"] = up;
  crdt::SyncMessage part;
  part.kind = crdt::SyncMessage::Kind::kPart;
  part.doc = "b";
  part.part_id = 7;
  part.part_index = 1;
  part.part_count = 2;
  part.bytes = {0xff};
  out["part_b_1_of_2"] = part;
  return out;
}

bool same(const crdt::SyncMessage& a, const crdt::SyncMessage& b) {
  return a.kind == b.kind && a.doc == b.doc && a.bytes == b.bytes && a.ask_back == b.ask_back && a.writers == b.writers &&
         a.part_id == b.part_id && a.part_index == b.part_index && a.part_count == b.part_count;
}

Bytes enc(const Value& v) { return codec::encode(v); }
Value s(const char* x) { return Value{std::string(x)}; }

}  // namespace

TEST_CASE("docsync: golden frames encode and decode byte for byte", "[docsync]") {
  auto frames = golden();
  auto messages = golden_messages();
  REQUIRE(frames.size() == messages.size() + 1);
  for (const auto& [name, m] : messages) {
    INFO(name);
    REQUIRE(test::to_hex(crdt::encode_sync_message(m)) == test::to_hex(frames.at(name)));
    auto back = crdt::decode_sync_message(frames.at(name));
    REQUIRE(back.ok());
    REQUIRE(same(*back, m));
  }
  // A gossiped update is the update as one msgpack bin.
  REQUIRE(codec::encode(Value{Bytes{1, 2, 3}}) == frames.at("gossip_payload"));
}

TEST_CASE("docsync: the message decoder refuses malformed and out-of-range fields", "[docsync]") {
  const Bytes bin2{0x13, 0x00};
  const std::vector<std::pair<const char*, Bytes>> bad = {
      {"empty", {}},
      {"not a map", enc(Value{Array{s("sv")}})},
      {"no kind", enc(Value{Map{{s("d"), s("b")}}})},
      {"unknown kind", enc(Value{Map{{s("k"), s("zz")}, {s("d"), s("b")}}})},
      {"empty name", enc(Value{Map{{s("k"), s("up")}, {s("d"), s("")}, {s("u"), Value{bin2}}}})},
      {"long name", enc(Value{Map{{s("k"), s("up")}, {s("d"), Value{std::string(201, 'x')}}, {s("u"), Value{bin2}}}})},
      {"vector without a", enc(Value{Map{{s("k"), s("sv")}, {s("d"), s("b")}, {s("v"), Value{bin2}}}})},
      {"vector as string", enc(Value{Map{{s("k"), s("sv")}, {s("d"), s("b")}, {s("v"), s("x")}, {s("a"), Value{true}}}})},
      {"short writer key",
       enc(Value{Map{{s("k"), s("sv")}, {s("d"), s("b")}, {s("v"), Value{bin2}}, {s("a"), Value{true}},
                     {s("w"), Value{Array{Value{Bytes(31, 1)}}}}}})},
      {"update as int", enc(Value{Map{{s("k"), s("up")}, {s("d"), s("b")}, {s("u"), Value{1}}}})},
      {"part index >= count",
       enc(Value{Map{{s("k"), s("part")}, {s("d"), s("b")}, {s("id"), Value{1}}, {s("i"), Value{2}}, {s("n"), Value{2}},
                     {s("b"), Value{bin2}}}})},
      {"part count 1",
       enc(Value{Map{{s("k"), s("part")}, {s("d"), s("b")}, {s("id"), Value{1}}, {s("i"), Value{0}}, {s("n"), Value{1}},
                     {s("b"), Value{bin2}}}})},
      {"part count above max",
       enc(Value{Map{{s("k"), s("part")}, {s("d"), s("b")}, {s("id"), Value{1}}, {s("i"), Value{0}}, {s("n"), Value{81}},
                     {s("b"), Value{bin2}}}})},
      {"negative id",
       enc(Value{Map{{s("k"), s("part")}, {s("d"), s("b")}, {s("id"), Value{-1}}, {s("i"), Value{0}}, {s("n"), Value{2}},
                     {s("b"), Value{bin2}}}})},
      {"truncated", Bytes{0x84, 0xa1, 0x6b}},
  };
  for (const auto& [name, bytes] : bad) {
    INFO(name);
    auto m = crdt::decode_sync_message(bytes);
    REQUIRE_FALSE(m.ok());
    REQUIRE(m.status().code() == Code::kDecodeError);
  }
  Array many;
  for (int i = 0; i < 257; ++i) many.emplace_back(Bytes(32, 1));
  auto m = crdt::decode_sync_message(enc(Value{Map{{s("k"), s("sv")}, {s("d"), s("b")}, {s("v"), Value{bin2}},
                                                   {s("a"), Value{true}}, {s("w"), Value{many}}}}));
  REQUIRE_FALSE(m.ok());
}

TEST_CASE("docsync: a restricted replica catches up through an unrestricted one (writer-filtered delta)", "[docsync]") {
  auto writer = crypto::Identity::import_seed(Bytes(32, 7));
  auto outsider = crypto::Identity::import_seed(Bytes(32, 9));
  REQUIRE(writer.ok());
  REQUIRE(outsider.ok());
  const auto& wk = writer->peer_id().bytes();
  const std::vector<Bytes> writers{Bytes(wk.begin(), wk.end())};

  crdt::Doc a(1), b(2), relay(3), restricted(4);
  REQUIRE(a.set_signer(*writer).ok());
  REQUIRE(b.set_signer(*outsider).ok());
  REQUIRE(restricted.restrict_writers(writers).ok());
  std::vector<Bytes> gossiped;  // the signed transactions, as gossip carries them
  auto capture = [&](std::span<const std::uint8_t> u, std::uint64_t) { gossiped.emplace_back(u.begin(), u.end()); };
  a.set_update_handler(capture);
  b.set_update_handler(capture);
  REQUIRE(a.get_map("m").set("w", Value{1}).ok());
  REQUIRE(a.get_text("t").insert(0, "ok").ok());
  REQUIRE(b.get_map("m").set("x", Value{2}).ok());
  REQUIRE(gossiped.size() == 3);
  // The relay (no restriction) holds both signers' edits.
  for (const auto& u : gossiped) REQUIRE(relay.apply_update(u).ok());
  REQUIRE(relay.get_map("m").keys().size() == 2);

  // Unfiltered, the relay's delta mixes the outsider's edit in, and the restricted replica refuses
  // all of it (plain and unsigned, too).
  auto plain = relay.encode_state_as_update(restricted.encode_state_vector());
  REQUIRE(plain.ok());
  REQUIRE_FALSE(restricted.apply_update(*plain).ok());

  // Filtered to its writers, it is accepted and holds exactly the writer's edits.
  auto filtered = relay.encode_state_as_update(restricted.encode_state_vector(), restricted.writers());
  REQUIRE(filtered.ok());
  REQUIRE(restricted.apply_update(*filtered).ok());
  REQUIRE(restricted.get_map("m").keys() == std::vector<std::string>{"w"});
  REQUIRE(restricted.get_text("t").to_string() == "ok");
  // Nothing more to send once it has them.
  auto again = relay.encode_state_as_update(restricted.encode_state_vector(), restricted.writers());
  REQUIRE(again.ok());
  REQUIRE(*again == Bytes{0x12, 0x00});  // an empty bundle
}

TEST_CASE("docsync: a config or document options that cannot work are refused, naming the field", "[docsync]") {
  crdt::DocSyncConfig c;
  c.peer_sync_min_ms = 0;
  auto r = crdt::DocSync::create(c);
  REQUIRE_FALSE(r.ok());
  REQUIRE(r.status().code() == Code::kInvalidArgument);
  REQUIRE(r.status().message().find("peer_sync_min_ms") != std::string::npos);
  crdt::SyncOptions o;
  o.anti_entropy_ms = 0;
  REQUIRE(crdt::DocSync::check(o).message().find("anti_entropy_ms") != std::string::npos);
  o = {};
  o.anti_entropy_peers = 0;
  REQUIRE(crdt::DocSync::check(o).message().find("anti_entropy_peers") != std::string::npos);
  o = {};
  o.compact_every = 0;
  REQUIRE(crdt::DocSync::check(o).message().find("compact_every") != std::string::npos);
  REQUIRE(crdt::DocSync::check({}).ok());
}
