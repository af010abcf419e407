// The RPC composition's formats: golden frames and link messages (golden/rpc-frames.txt, written
// from the msgpack spec and checked by node:test too), host step/drain batches built by hand from
// the layout in nitro/rpc_batch.h, and construction that fails as a value.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <map>
#include <optional>
#include <sstream>
#include <string>

#include "nitro/codec.h"
#include "nitro/rpc_batch.h"
#include "nitro/rpc_node.h"
#include "rpc_step_writer.h"
#include "test_util.h"

using namespace nitro;
using namespace nitro::rpc;
using nitro::test::from_hex;
using nitro::test::StepWriter;
using nitro::test::to_hex;

namespace {

std::map<std::string, std::string> golden() {
  std::map<std::string, std::string> out;
  std::istringstream lines(test::read_file(test::source_path("golden/rpc-frames.txt")));
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string name, hex;
    fields >> name >> hex;
    out[name] = hex;
  }
  return out;
}

Bytes msgpack_of(const Value& v) { return codec::encode(v); }

Frame control(FrameType type, std::uint64_t id, Dir dir, std::uint64_t seq) {
  Frame f;
  f.type = type;
  f.call_id = id;
  f.dir = dir;
  f.seq = seq;
  return f;
}

// The frames the golden file names, built field by field from the layout in nitro/rpc.h.
std::map<std::string, Frame> golden_frames() {
  std::map<std::string, Frame> m;
  Frame req;
  req.type = FrameType::kRequest;
  req.call_id = 7;
  req.service = "greeter";
  req.method = "Greeter.Hello";
  req.metadata = {{"trace", "t1"}};
  req.deadline_ms = 1500;
  req.window = 16;
  req.payload = msgpack_of(Value{Map{{Value{"name"}, Value{"x"}}}});
  m["request_unary"] = req;
  Frame bidi;
  bidi.type = FrameType::kRequest;
  bidi.call_id = (1ull << 40) + 5;
  bidi.method = "A.B";
  bidi.content_type = ContentType::kJson;
  bidi.flags = kFlagIdempotent;
  bidi.kind = StreamKind::kBidi;
  bidi.window = 1024;
  m["request_bidi_idempotent"] = bidi;
  Frame ok;
  ok.type = FrameType::kResponse;
  ok.call_id = 7;
  ok.payload = msgpack_of(Value{Map{{Value{"msg"}, Value{"hi x"}}}});
  m["response_ok"] = ok;
  Frame err;
  err.type = FrameType::kResponse;
  err.call_id = 9;
  err.code = Code::kPermissionDenied;
  err.message = "no";
  err.details = Value{Map{{Value{"why"}, Value{"x"}}}};
  err.metadata = {{"k", "v"}};
  err.seq = 3;
  m["response_error"] = err;
  Frame msg = control(FrameType::kStreamMsg, 7, Dir::kFromServer, 300);
  msg.payload = {1, 2, 3};
  m["stream_msg"] = msg;
  m["stream_end"] = control(FrameType::kStreamEnd, 7, Dir::kFromClient, 40);
  m["credit"] = control(FrameType::kCredit, 7, Dir::kFromServer, 32);
  m["cancel"] = control(FrameType::kCancel, 7, Dir::kFromClient, 0);
  Frame deadline = control(FrameType::kCancel, 7, Dir::kFromClient, 0);
  deadline.code = Code::kDeadlineExceeded;
  m["cancel_deadline"] = deadline;
  return m;
}

}  // namespace

TEST_CASE("rpc golden: frames encode and decode byte for byte", "[rpc]") {
  auto hex = golden();
  auto frames = golden_frames();
  for (const auto& [name, frame] : frames) {
    INFO("frame " << name);
    REQUIRE(hex.count(name) == 1);
    CHECK(to_hex(encode_frame(frame)) == hex[name]);
    auto decoded = decode_frame(from_hex(hex[name]));
    REQUIRE(decoded.ok());
    CHECK(to_hex(encode_frame(*decoded)) == hex[name]);
  }
}

TEST_CASE("rpc golden: link messages coalesce frames per peer, byte for byte", "[rpc]") {
  auto hex = golden();
  auto frames = golden_frames();
  LinkBatcher batcher;
  batcher.push("p", encode_frame(frames["cancel"]));
  batcher.push("p", encode_frame(frames["credit"]));
  Frame big = control(FrameType::kStreamMsg, 7, Dir::kFromServer, 0);
  for (int i = 0; i < 200; ++i) big.payload.push_back(static_cast<std::uint8_t>(i));
  batcher.push("q", encode_frame(big));
  auto messages = batcher.take();
  REQUIRE(messages.size() == 2);
  CHECK(messages[0].first == "p");
  CHECK(to_hex(messages[0].second) == hex["link_frames"]);
  CHECK(messages[1].first == "q");
  CHECK(to_hex(messages[1].second) == hex["link_long_frame"]);
  CHECK(batcher.empty());

  const Bytes link_frames = from_hex(hex["link_frames"]);  // the frames are views into it
  auto split = decode_link_message(link_frames);
  REQUIRE(split.ok());
  REQUIRE(split->frames.size() == 2);
  CHECK(to_hex(Bytes(split->frames[1].begin(), split->frames[1].end())) == hex["credit"]);

  Advertisement ad;
  ad.peer = "abc";
  ad.ttl_ms = 30000;
  ad.services.push_back({"greeter", {}});
  CHECK(to_hex(link_advertisement(ad)) == hex["link_advertisement"]);
  auto back = decode_link_message(from_hex(hex["link_advertisement"]));
  REQUIRE(back.ok());
  CHECK(back->kind == kLinkAdvertisement);
  CHECK(back->advertisement.peer == "abc");
}

TEST_CASE("rpc link: a burst over the size limit splits, a huge frame travels alone", "[rpc]") {
  LinkBatcher batcher;
  Bytes frame(100 * 1024, 0x90);
  for (int i = 0; i < 3; ++i) batcher.push("p", frame);
  Bytes huge(kLinkBytesMax + 10, 0x90);
  batcher.push("p", huge);
  auto messages = batcher.take();
  REQUIRE(messages.size() == 3);  // [2 frames] [1 frame] [the huge one]
  std::size_t frames = 0;
  for (const auto& [peer, m] : messages) {
    auto d = decode_link_message(m);
    REQUIRE(d.ok());
    frames += d->frames.size();
  }
  CHECK(frames == 4);
  CHECK(messages[0].second.size() <= kLinkBytesMax);
}

TEST_CASE("rpc link: malformed messages are decode errors", "[rpc]") {
  CHECK(decode_link_message({}).status().code() == Code::kDecodeError);
  CHECK(decode_link_message(from_hex("02")).status().code() == Code::kDecodeError);      // unknown kind
  CHECK(decode_link_message(from_hex("0005930106")).status().code() == Code::kDecodeError);  // runs past the end
  CHECK(decode_link_message(from_hex("00ffffffffff01")).status().code() == Code::kDecodeError);  // varint too long
  CHECK(decode_link_message(from_hex("01c0")).status().code() == Code::kDecodeError);    // not an ad
  auto empty = decode_link_message(from_hex("00"));
  REQUIRE(empty.ok());
  CHECK(empty->frames.empty());
}

TEST_CASE("rpc step: a call start record becomes a REQUEST in a link message", "[rpc]") {
  Engine engine("cli", 1);
  const CallHandle h = engine.reserve_handles(4);
  StepWriter in;
  in.start(static_cast<double>(h), "srv", "Greeter.Hello", std::string("k\0v", 3), Bytes{0xc0}, 1500.7);
  REQUIRE(apply_step(engine, in.b, 100).ok());
  Bytes out;
  write_drain(engine, engine.next_deadline(), true, out);
  auto batch = read_drain(out);
  REQUIRE(batch.ok());
  CHECK(batch->deadline == 1600.0);  // the call's deadline: now + the truncated timeout
  REQUIRE(batch->transmits.size() == 1);
  CHECK(batch->transmits[0].peer == "srv");
  auto link = decode_link_message(batch->transmits[0].bytes);
  REQUIRE(link.ok());
  REQUIRE(link->frames.size() == 1);
  auto f = decode_frame(link->frames[0]);
  REQUIRE(f.ok());
  CHECK(f->type == FrameType::kRequest);
  CHECK(f->service == "svc");
  CHECK(f->method == "Greeter.Hello");
  CHECK(f->metadata == Metadata{{"k", "v"}});
  CHECK(f->deadline_ms == 1500);
  CHECK(f->payload == Bytes{0xc0});
}

TEST_CASE("rpc step: bad numbers and truncated records are refused, never cast", "[rpc]") {
  Engine engine("cli", 1);
  const CallHandle h = engine.reserve_handles(4);
  SECTION("NaN handle") {
    StepWriter in;
    in.start(std::nan(""), "srv", "A.B", "", {}, 1000);
    CHECK(apply_step(engine, in.b, 0).code() == Code::kDecodeError);
    CHECK(engine.active_calls() == 0);
  }
  SECTION("negative timeout: the call ends INVALID_ARGUMENT") {
    StepWriter in;
    in.start(static_cast<double>(h), "srv", "A.B", "", {}, -5);
    REQUIRE(apply_step(engine, in.b, 0).ok());
    auto e = engine.poll_event();
    REQUIRE(e);
    CHECK(e->kind == EventKind::kDone);
    CHECK(e->status.code() == Code::kInvalidArgument);
  }
  SECTION("a truncated record after a good one") {
    StepWriter in;
    in.start(static_cast<double>(h), "srv", "A.B", "", {}, 1000);
    in.u8(4);
    in.u8(0);  // a cancel whose handle is cut short
    CHECK(apply_step(engine, in.b, 0).code() == Code::kDecodeError);
    CHECK(engine.active_calls() == 1);  // the good record took effect
  }
  SECTION("an unknown record type") {
    StepWriter in;
    in.u8(9);
    CHECK(apply_step(engine, in.b, 0).code() == Code::kDecodeError);
  }
}

TEST_CASE("rpc config: create() names the bad field", "[rpc]") {
  EngineConfig bad;
  bad.window = 0;
  auto e = Engine::create("x", 1, bad);
  REQUIRE_FALSE(e.ok());
  CHECK(e.status().code() == Code::kInvalidArgument);
  CHECK(e.status().message().find("window") != std::string::npos);
  CHECK(Engine::create("x", 1, {}).ok());

  NodeRpcConfig nc;
  nc.ad_interval_ms = nc.ad_ttl_ms;
  auto n = NodeRpc::create(nc);
  REQUIRE_FALSE(n.ok());
  CHECK(n.status().code() == Code::kInvalidArgument);
  CHECK(n.status().message().find("ad_interval_ms") != std::string::npos);
  NodeRpcConfig w;
  w.engine.window = 5000;
  CHECK(NodeRpc::create(w).status().message().find("window") != std::string::npos);
  CHECK(NodeRpc::create({}).ok());
}

TEST_CASE("node config: Node::create names the bad field", "[rpc][node]") {
  NodeConfig ok;
  CHECK(Node::create(ok).ok());
  NodeConfig views;
  views.active_view_max = 0;
  auto a = Node::create(views);
  REQUIRE_FALSE(a.ok());
  CHECK(a.status().code() == Code::kInvalidArgument);
  CHECK(a.status().message().find("active_view_max") != std::string::npos);
  NodeConfig limits;
  limits.limits.transmit_queue_high_water = limits.limits.transmit_queue_max + 1;
  CHECK(Node::create(limits).status().message().find("limits.transmit_queue_high_water") != std::string::npos);
  NodeConfig timers;
  timers.timers.probe_interval_ms = 0;
  CHECK(Node::create(timers).status().message().find("timers.probe_interval_ms") != std::string::npos);
}

namespace {

// The oracle for frames messages: a reference LEB128 reader written from the spec, separately
// from the core's (lengths up to 5 digits, every frame inside the message).
std::optional<std::vector<Bytes>> oracle_split(const Bytes& m) {
  if (m.empty() || m[0] != kLinkFrames) return std::nullopt;
  std::vector<Bytes> out;
  std::size_t pos = 1;
  while (pos < m.size()) {
    unsigned __int128 len = 0;
    int digits = 0;
    for (;;) {
      if (pos >= m.size() || digits == 5) return std::nullopt;
      const std::uint8_t b = m[pos++];
      len |= static_cast<unsigned __int128>(b & 0x7f) << (7 * digits++);
      if ((b & 0x80) == 0) break;
    }
    if (len > m.size() - pos) return std::nullopt;
    out.emplace_back(m.begin() + static_cast<std::ptrdiff_t>(pos), m.begin() + static_cast<std::ptrdiff_t>(pos + static_cast<std::size_t>(len)));
    pos += static_cast<std::size_t>(len);
  }
  return out;
}

std::optional<std::vector<Bytes>> core_split(const Bytes& m) {
  auto d = decode_link_message(m);
  if (!d.ok()) {
    CHECK(d.status().code() == Code::kDecodeError);
    return std::nullopt;
  }
  if (d->kind != kLinkFrames) return std::nullopt;
  std::vector<Bytes> out;
  for (auto f : d->frames) out.emplace_back(f.begin(), f.end());
  return out;
}

}  // namespace

TEST_CASE("rpc link: batched frames split back, mutated messages split as the oracle says", "[rpc]") {
  for (std::uint64_t seed : test::test_seeds("rpc_link_property", 200)) {
    INFO("reproduce with NITRO_SEED=" << seed);
    test::SplitMix r{seed};
    std::vector<Bytes> frames(r.below(20));
    for (auto& f : frames) {
      f.resize(r.percent(10) ? 100 + r.below(300) : r.below(130));
      for (auto& b : f) b = static_cast<std::uint8_t>(r.next());
    }
    LinkBatcher batcher;
    for (const auto& f : frames) batcher.push("p", f);
    std::vector<Bytes> back;
    for (const auto& [peer, m] : batcher.take()) {
      auto parsed = oracle_split(m);
      REQUIRE(parsed);
      CHECK(core_split(m) == parsed);
      back.insert(back.end(), parsed->begin(), parsed->end());
    }
    CHECK(back == frames);
    // Flip, cut and append bytes of a valid message: the core agrees with the oracle, or both refuse.
    Bytes m{kLinkFrames};
    for (const auto& f : frames) {
      std::size_t n = f.size();
      while (n >= 0x80) {
        m.push_back(static_cast<std::uint8_t>(n | 0x80));
        n >>= 7;
      }
      m.push_back(static_cast<std::uint8_t>(n));
      m.insert(m.end(), f.begin(), f.end());
    }
    for (std::uint64_t k = r.below(4); k > 0 && m.size() > 1; --k) m[1 + r.below(m.size() - 1)] = static_cast<std::uint8_t>(r.next());
    m.resize(m.size() - std::min<std::size_t>(m.size() - 1, r.below(9)));
    for (std::uint64_t k = r.below(6); k > 0; --k) m.push_back(static_cast<std::uint8_t>(r.next()));
    CHECK(core_split(m) == oracle_split(m));
  }
}
