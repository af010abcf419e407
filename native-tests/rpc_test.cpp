#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>

#include "nitro/codec.h"
#include "nitro/rpc.h"
#include "rpc_frame_reference.h"
#include "test_util.h"
#include "rpc_harness.h"

using namespace nitro;
using namespace nitro::rpc;
using nitro::test::bytes_of;
using nitro::test::RpcNet;
using nitro::test::str_of;

namespace {

CallOptions opts(const std::string& peer, const std::string& method, StreamKind kind = StreamKind::kUnary) {
  CallOptions o;
  o.peer = peer;
  o.service = "svc";
  o.method = method;
  o.kind = kind;
  o.timeout_ms = 1000;
  return o;
}

// A server "srv" serving "svc" and a client "cli"; client events are collected in `client`.
struct Pair {
  RpcNet net;
  std::vector<Event> client;
  std::vector<Event> server;
  std::function<void(Event&)> serve_fn;

  explicit Pair(EngineConfig config = {}) : net(7) {
    net.add("srv", config);
    net.add("cli", config);
    srv().serve("svc");
    net.on_event([this](const std::string& node, Event& e) {
      if (node == "cli") {
        client.push_back(e);
      } else {
        server.push_back(e);
        if (serve_fn) serve_fn(e);
      }
    });
  }
  Engine& srv() { return net.at("srv"); }
  Engine& cli() { return net.at("cli"); }
  std::vector<Event> client_of(EventKind kind) const {
    std::vector<Event> out;
    for (const auto& e : client) if (e.kind == kind) out.push_back(e);
    return out;
  }
  std::vector<Event> server_of(EventKind kind) const {
    std::vector<Event> out;
    for (const auto& e : server) if (e.kind == kind) out.push_back(e);
    return out;
  }
};

}  // namespace

// ------------------------------------------------------------------------------------- frames

TEST_CASE("rpc: every frame type round-trips", "[rpc]") {
  Frame req;
  req.type = FrameType::kRequest;
  req.call_id = (123ull << 32) | 9;
  req.service = "greeter";
  req.method = "Greeter.Hello";
  req.metadata = {{"a", "1"}, {"trace", "xyz"}};
  req.deadline_ms = 1500;
  req.content_type = ContentType::kJson;
  req.flags = kFlagIdempotent;
  req.kind = StreamKind::kBidi;
  req.window = 32;
  req.payload = bytes_of("{\"name\":\"x\"}");
  Frame rsp;
  rsp.type = FrameType::kResponse;
  rsp.call_id = 77;
  rsp.dir = Dir::kFromServer;
  rsp.code = Code::kNotFound;
  rsp.message = "no such thing";
  rsp.details = Value{Map{{Value{"field"}, Value{"id"}}}};
  rsp.metadata = {{"t", "v"}};
  rsp.seq = 4;
  rsp.payload = bytes_of("p");
  std::vector<Frame> frames{req, rsp};
  for (auto type : {FrameType::kStreamMsg, FrameType::kStreamEnd, FrameType::kCredit, FrameType::kCancel}) {
    Frame f;
    f.type = type;
    f.call_id = 5;
    if (type != FrameType::kCancel) { f.dir = Dir::kFromServer; f.seq = 12; }
    if (type == FrameType::kStreamMsg) f.payload = bytes_of("m");
    frames.push_back(f);
  }
  for (const auto& f : frames) {
    INFO("type " << int(f.type));
    Bytes wire = encode_frame(f);
    auto back = decode_frame(wire);
    REQUIRE(back.ok());
    CHECK(encode_frame(*back) == wire);
    CHECK(back->type == f.type);
    CHECK(back->call_id == f.call_id);
    CHECK(back->payload == f.payload);
    CHECK(back->seq == f.seq);
  }
  auto back = decode_frame(encode_frame(req));
  CHECK(back->metadata == req.metadata);
  CHECK(back->method == "Greeter.Hello");
  CHECK(back->deadline_ms == 1500);
  CHECK(back->kind == StreamKind::kBidi);
  CHECK(back->content_type == ContentType::kJson);
  auto back_rsp = decode_frame(encode_frame(rsp));
  CHECK(back_rsp->code == Code::kNotFound);
  CHECK(back_rsp->details == rsp.details);
}

TEST_CASE("rpc: content types are msgpack, JSON and protobuf, nothing else", "[rpc]") {
  Frame req;
  req.type = FrameType::kRequest;
  req.call_id = 1;
  req.service = "s";
  req.method = "M";
  req.content_type = ContentType::kProtobuf;
  req.payload = Bytes{0x0a, 0x01, 0x78};  // protobuf: field 1 = "x"
  Bytes wire = encode_frame(req);
  auto back = decode_frame(wire);
  REQUIRE(back.ok());
  CHECK(back->content_type == ContentType::kProtobuf);
  req.content_type = static_cast<ContentType>(3);
  CHECK_FALSE(decode_frame(encode_frame(req)).ok());
}

// The direct frame codec against the Value-tree reference (rpc_frame_reference.h): the same bytes
// as codec::encode of the array, and the same verdict and frame for random mutations of every
// frame type (truncations, byte flips, insertions), so a cursor bug cannot hide.
TEST_CASE("rpc: frame codec agrees with the reference decoder", "[rpc]") {
  Frame req;
  req.type = FrameType::kRequest;
  req.call_id = 300;
  req.service = "svc";
  req.method = "Greeter.Hello";
  req.metadata = {{"a", "1"}, {"trace", std::string(40, 'x')}};
  req.deadline_ms = 70000;
  req.flags = kFlagIdempotent;
  req.kind = StreamKind::kServerStream;
  req.window = 16;
  req.payload = bytes_of("hello");
  CHECK(encode_frame(req) == codec::encode(Value{Array{
      Value{1}, Value{1}, Value{300}, Value{"svc"}, Value{"Greeter.Hello"},
      Value{Map{{Value{"a"}, Value{"1"}}, {Value{"trace"}, Value{std::string(40, 'x')}}}}, Value{70000}, Value{0},
      Value{1}, Value{1}, Value{16}, Value{bytes_of("hello")}}}));
  Frame rsp;
  rsp.type = FrameType::kResponse;
  rsp.call_id = 1ull << 40;
  rsp.code = Code::kInvalidArgument;
  rsp.message = "bad";
  rsp.details = Value{Map{{Value{"k"}, Value{Array{Value{-5}, Value{1.5}, Value{true}, Value{}}}}}};
  rsp.metadata = {{"t", "v"}};
  rsp.payload = Bytes(300, 7);
  std::vector<Bytes> seeds{encode_frame(req), encode_frame(rsp)};
  for (auto type : {FrameType::kStreamMsg, FrameType::kStreamEnd, FrameType::kCredit, FrameType::kCancel}) {
    Frame f;
    f.type = type;
    f.call_id = 9;
    f.seq = 70000;
    f.code = Code::kDeadlineExceeded;
    seeds.push_back(encode_frame(f));
  }
  // The optional response headers, on a response and on stream message 0.
  rsp.header = {{"h", "1"}};
  seeds.push_back(encode_frame(rsp));
  Frame first;
  first.type = FrameType::kStreamMsg;
  first.dir = Dir::kFromServer;
  first.payload = bytes_of("m");
  first.header = {{"served-by", "srv"}, {"x", ""}};
  seeds.push_back(encode_frame(first));
  nitro::test::SplitMix rng{1};
  auto next = [&rng](std::uint64_t n) { return rng.below(n); };
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    Bytes b = seeds[next(seeds.size())];
    for (std::uint64_t edits = 1 + next(3); edits > 0 && !b.empty(); --edits) {
      std::size_t at = next(b.size());
      switch (next(4)) {
        case 0: b.resize(at); break;
        case 1: b[at] = static_cast<std::uint8_t>(next(256)); break;
        case 2: b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), static_cast<std::uint8_t>(next(256))); break;
        default: b[at] ^= static_cast<std::uint8_t>(1u << next(8)); break;
      }
    }
    auto ours = decode_frame(b);
    auto ref = reference::decode_frame(b);
    INFO("case " << i << " bytes " << nitro::test::to_hex(b));
    REQUIRE(ours.ok() == ref.ok());
    if (!ours.ok()) {
      CHECK(ours.status().code() == Code::kDecodeError);
      continue;
    }
    ++accepted;
    REQUIRE(encode_frame(*ours) == encode_frame(*ref));
  }
  CHECK(accepted > 1000);  // the mutations reach the accepting paths too
}

TEST_CASE("rpc: malformed frames are decode errors", "[rpc]") {
  Frame req;
  req.type = FrameType::kRequest;
  req.call_id = 1;
  req.method = "M";
  Bytes wire = encode_frame(req);
  for (std::size_t n = 0; n < wire.size(); ++n) {
    auto r = decode_frame(Bytes(wire.begin(), wire.begin() + n));
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kDecodeError);
  }
  auto bad = [](Array a) {
    auto r = decode_frame(codec::encode(Value{std::move(a)}));
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kDecodeError);
  };
  bad({Value{2}, Value{6}, Value{1}});                                   // unknown version
  bad({Value{1}, Value{9}, Value{1}});                                   // unknown type
  bad({Value{1}, Value{0}, Value{1}});
  bad({Value{1}, Value{6}, Value{-1}});                                  // negative call id
  bad({Value{1}, Value{3}, Value{1}, Value{2}, Value{0}, Value{Bytes{}}});  // bad dir
  bad({Value{1}, Value{3}, Value{1}, Value{0}, Value{0}, Value{"str"}});    // payload not bin
  bad({Value{1}, Value{1}, Value{1}, Value{"s"}, Value{"m"}, Value{Map{{Value{1}, Value{"x"}}}}, Value{0},
       Value{0}, Value{0}, Value{0}, Value{0}, Value{Bytes{}}});          // metadata key not a string
  bad({Value{1}, Value{1}, Value{1}, Value{"s"}, Value{std::string(300, 'm')}, Value{Map{}}, Value{0},
       Value{0}, Value{0}, Value{0}, Value{0}, Value{Bytes{}}});          // method too long
  bad({Value{1}, Value{1}, Value{1}, Value{"s"}, Value{"m"}, Value{Map{}}, Value{0},
       Value{0}, Value{0}, Value{0}, Value{100000}, Value{Bytes{}}});     // window above window_max
  SECTION("not an array") { CHECK(decode_frame(codec::encode(Value{"x"})).status().code() == Code::kDecodeError); }
  SECTION("extra trailing fields are ignored (minor versions)") {
    auto r = decode_frame(codec::encode(Value{Array{Value{1}, Value{6}, Value{4}, Value{4}, Value{"future"}}}));
    REQUIRE(r.ok());
    CHECK(r->call_id == 4);
    CHECK(r->code == Code::kDeadlineExceeded);  // CANCEL's optional reason
    auto plain = decode_frame(codec::encode(Value{Array{Value{1}, Value{6}, Value{4}}}));
    REQUIRE(plain.ok());
    CHECK(plain->code == Code::kCancelled);
  }
}

// --------------------------------------------------------------------------------------- unary

TEST_CASE("rpc: unary call with metadata both ways and a propagated deadline", "[rpc]") {
  Pair p;
  REQUIRE(p.srv().register_method("Greeter.Hello", StreamKind::kUnary).ok());
  p.serve_fn = [&](Event& e) {
    if (e.kind != EventKind::kRequest) return;
    CHECK(e.metadata.at("trace") == "t1");
    CHECK(e.deadline_at_ms == 1000);
    CHECK(e.peer == "cli");
    CHECK(e.service == "svc");
    REQUIRE(p.srv().respond(e.handle, {}, bytes_of("hi " + str_of(e.payload)), {{"served-by", "srv"}}, {}, p.net.now()).ok());
  };
  auto o = opts("srv", "Greeter.Hello");
  o.payload = bytes_of("x");
  o.metadata = {{"trace", "t1"}};
  auto h = p.cli().start_call(o, p.net.now());
  REQUIRE(h.ok());
  p.net.pump();
  auto done = p.client_of(EventKind::kDone);
  REQUIRE(done.size() == 1);
  CHECK(done[0].handle == *h);
  CHECK(done[0].status.ok());
  CHECK(str_of(done[0].payload) == "hi x");
  CHECK(done[0].metadata.at("served-by") == "srv");
  CHECK(done[0].attempts == 1);
  CHECK(p.cli().active_calls() == 0);
  CHECK(p.srv().active_calls() == 0);
  CHECK_FALSE(p.cli().next_deadline().has_value());
}

TEST_CASE("rpc: response headers ride on the server's first frame, reported once", "[rpc]") {
  Pair p;
  REQUIRE(p.srv().register_method("Greeter.Hello", StreamKind::kUnary).ok());
  REQUIRE(p.srv().register_method("Count.Up", StreamKind::kServerStream).ok());
  p.serve_fn = [&](Event& e) {
    if (e.kind != EventKind::kRequest) return;
    REQUIRE(p.srv().set_header(e.handle, {{"h", e.method}}).ok());
    if (e.method == "Greeter.Hello") {
      REQUIRE(p.srv().respond(e.handle, {}, bytes_of("hi"), {{"t", "1"}}, {}, p.net.now()).ok());
      return;
    }
    REQUIRE(p.srv().send(e.handle, bytes_of("0"), p.net.now()).ok());
    // Once the first frame has left, the headers are fixed.
    CHECK(p.srv().set_header(e.handle, {{"late", "x"}}).code() == Code::kFailedPrecondition);
    REQUIRE(p.srv().send(e.handle, bytes_of("1"), p.net.now()).ok());
    REQUIRE(p.srv().respond(e.handle, {}, {}, {}, {}, p.net.now()).ok());
  };
  REQUIRE(p.cli().start_call(opts("srv", "Greeter.Hello"), p.net.now()).ok());
  p.net.pump();
  auto done = p.client_of(EventKind::kDone);
  REQUIRE(done.size() == 1);
  CHECK(done[0].header == Metadata{{"h", "Greeter.Hello"}});
  CHECK(done[0].metadata == Metadata{{"t", "1"}});
  p.client.clear();
  REQUIRE(p.cli().start_call(opts("srv", "Count.Up", StreamKind::kServerStream), p.net.now()).ok());
  p.net.pump();
  auto msgs = p.client_of(EventKind::kMessage);
  REQUIRE(msgs.size() == 2);
  CHECK(msgs[0].header == Metadata{{"h", "Count.Up"}});  // with the first message only
  CHECK(msgs[1].header.empty());
  REQUIRE(p.client_of(EventKind::kDone).size() == 1);
  CHECK(p.client_of(EventKind::kDone)[0].header.empty());
  // A frame without headers (the older form) decodes as before; with them it round-trips.
  Frame f;
  f.type = FrameType::kStreamMsg;
  f.dir = Dir::kFromServer;
  Bytes plain = encode_frame(f);
  f.header = {{"k", "v"}};
  Bytes with = encode_frame(f);
  CHECK(with.size() > plain.size());
  CHECK(decode_frame(plain)->header.empty());
  CHECK(decode_frame(with)->header == f.header);
  CHECK(reference::decode_frame(with)->header == f.header);
}

TEST_CASE("rpc: handler errors carry code, message and details", "[rpc]") {
  Pair p;
  REQUIRE(p.srv().register_method("A.B", StreamKind::kUnary).ok());
  p.serve_fn = [&](Event& e) {
    if (e.kind == EventKind::kRequest) {
      Value details{Map{{Value{"field"}, Value{"name"}}}};
      REQUIRE(p.srv().respond(e.handle, invalid_argument("name is required"), {}, {}, details, p.net.now()).ok());
    }
  };
  REQUIRE(p.cli().start_call(opts("srv", "A.B"), 0).ok());
  p.net.pump();
  auto done = p.client_of(EventKind::kDone);
  REQUIRE(done.size() == 1);
  CHECK(done[0].status.code() == Code::kInvalidArgument);
  CHECK(done[0].status.message() == "name is required");
  REQUIRE(done[0].details.find("field") != nullptr);
  CHECK(done[0].details.find("field")->as<std::string>() == "name");
}

TEST_CASE("rpc: unknown service, unknown method and wrong stream kind are UNIMPLEMENTED", "[rpc]") {
  Pair p;
  REQUIRE(p.srv().register_method("A.Unary", StreamKind::kUnary).ok());
  auto unknown_service = opts("srv", "A.Unary");
  unknown_service.service = "nope";
  REQUIRE(p.cli().start_call(unknown_service, 0).ok());
  REQUIRE(p.cli().start_call(opts("srv", "A.Missing"), 0).ok());
  REQUIRE(p.cli().start_call(opts("srv", "A.Unary", StreamKind::kServerStream), 0).ok());
  p.net.pump();
  auto done = p.client_of(EventKind::kDone);
  REQUIRE(done.size() == 3);
  for (const auto& d : done) CHECK(d.status.code() == Code::kUnimplemented);
  CHECK(done[0].status.message().find("unknown service") != std::string::npos);
  CHECK(done[1].status.message().find("unknown method") != std::string::npos);
  CHECK(p.server_of(EventKind::kRequest).empty());
}

TEST_CASE("rpc: invalid call options are rejected without state", "[rpc]") {
  Pair p;
  auto o = opts("srv", "");
  CHECK(p.cli().start_call(o, 0).status().code() == Code::kInvalidArgument);
  o = opts("srv", "A.B");
  o.timeout_ms = 0;
  CHECK(p.cli().start_call(o, 0).status().code() == Code::kInvalidArgument);
  o = opts("", "A.B");
  o.service = "";
  CHECK(p.cli().start_call(o, 0).status().code() == Code::kInvalidArgument);
  o = opts("", "A.B");  // a service with no instance
  CHECK(p.cli().start_call(o, 0).status().code() == Code::kUnavailable);
  CHECK(p.cli().active_calls() == 0);
  CHECK(p.cli().poll_transmit() == std::nullopt);
  CHECK(p.cli().send(42, {}, 0).code() == Code::kNotFound);
}

// ------------------------------------------------------------------------- deadlines, cancel

TEST_CASE("rpc: deadline exceeded on both sides", "[rpc]") {
  Pair p;
  REQUIRE(p.srv().register_method("Slow.Op", StreamKind::kUnary).ok());  // the handler never answers
  auto o = opts("srv", "Slow.Op");
  o.timeout_ms = 50;
  REQUIRE(p.cli().start_call(o, 0).ok());
  p.net.pump();
  REQUIRE(p.server_of(EventKind::kRequest).size() == 1);
  CHECK(p.cli().next_deadline() == 50);
  CHECK(p.srv().next_deadline() == 50);
  p.net.advance(49);
  CHECK(p.client_of(EventKind::kDone).empty());
  p.net.advance(1);
  auto done = p.client_of(EventKind::kDone);
  REQUIRE(done.size() == 1);
  CHECK(done[0].status.code() == Code::kDeadlineExceeded);
  auto cancelled = p.server_of(EventKind::kCancelled);
  REQUIRE(cancelled.size() == 1);
  CHECK(cancelled[0].status.code() == Code::kDeadlineExceeded);
  // The handler answering late is refused and nothing is sent.
  auto h = p.server_of(EventKind::kRequest)[0].handle;
  CHECK(p.srv().respond(h, {}, {}, {}, {}, p.net.now()).code() == Code::kNotFound);
  CHECK(p.cli().active_calls() == 0);
  CHECK(p.srv().active_calls() == 0);
}

TEST_CASE("rpc: cancellation reaches the handler", "[rpc]") {
  Pair p;
  REQUIRE(p.srv().register_method("Slow.Op", StreamKind::kUnary).ok());
  auto h = p.cli().start_call(opts("srv", "Slow.Op"), 0);
  REQUIRE(h.ok());
  p.net.pump();
  REQUIRE(p.cli().cancel(*h, 0).ok());
  p.net.pump();
  auto done = p.client_of(EventKind::kDone);
  REQUIRE(done.size() == 1);
  CHECK(done[0].status.code() == Code::kCancelled);
  auto cancelled = p.server_of(EventKind::kCancelled);
  REQUIRE(cancelled.size() == 1);
  CHECK(cancelled[0].status.code() == Code::kCancelled);
  CHECK(cancelled[0].handle == p.server_of(EventKind::kRequest)[0].handle);
  CHECK(p.cli().cancel(*h, 0).code() == Code::kNotFound);
}

TEST_CASE("rpc: a cancel that overtakes its request keeps the request from running", "[rpc]") {
  Engine srv("srv", 1);
  srv.serve("svc");
  REQUIRE(srv.register_method("A.B", StreamKind::kUnary).ok());
  Engine cli("cli", 2);
  auto h = cli.start_call(opts("srv", "A.B"), 0);
  REQUIRE(h.ok());
  auto request = cli.poll_transmit();
  REQUIRE(cli.cancel(*h, 0).ok());
  auto cancel = cli.poll_transmit();
  REQUIRE(srv.handle("cli", cancel->bytes, 0).ok());
  REQUIRE(srv.handle("cli", request->bytes, 0).ok());
  CHECK(srv.poll_event() == std::nullopt);
  CHECK(srv.active_calls() == 0);
}

TEST_CASE("rpc: a peer going down fails its calls and cancels its handlers", "[rpc]") {
  Pair p;
  REQUIRE(p.srv().register_method("Slow.Op", StreamKind::kUnary).ok());
  REQUIRE(p.cli().start_call(opts("srv", "Slow.Op"), 0).ok());
  p.net.pump();
  p.cli().peer_down("srv", 1);
  p.srv().peer_down("cli", 1);
  p.net.pump();
  REQUIRE(p.client_of(EventKind::kDone).size() == 1);
  CHECK(p.client_of(EventKind::kDone)[0].status.code() == Code::kUnavailable);
  REQUIRE(p.server_of(EventKind::kCancelled).size() == 1);
}

TEST_CASE("rpc: with a reconnect grace a call whose request died with its link is re-sent on the next link, once", "[rpc]") {
  EngineConfig config;
  config.reconnect_grace_ms = 500;
  Pair p(config);
  REQUIRE(p.srv().register_method("A.B", StreamKind::kUnary).ok());
  int runs = 0;
  p.serve_fn = [&](Event& e) {
    if (e.kind != EventKind::kRequest) return;
    ++runs;
    REQUIRE(p.srv().respond(e.handle, {}, bytes_of("ok"), {}, {}, p.net.now()).ok());
  };
  auto lost = opts("srv", "A.B");
  lost.timeout_ms = 5000;
  auto gone = lost;
  p.net.partition("cli", "srv", true);  // a half-open link: both requests vanish
  REQUIRE(p.cli().start_call(lost, 0).ok());
  REQUIRE(p.cli().start_call(gone, 0).ok());
  p.net.pump();
  p.cli().peer_down("srv", 0);
  p.net.advance(100);
  CHECK(p.client_of(EventKind::kDone).empty());  // waiting for a new link, not failed
  p.net.partition("cli", "srv", false);
  p.cli().peer_up("srv", p.net.now());
  p.net.pump();
  REQUIRE(p.client_of(EventKind::kDone).size() == 2);
  for (const auto& e : p.client_of(EventKind::kDone)) CHECK(e.status.ok());
  CHECK(runs == 2);
}

TEST_CASE("rpc: with a reconnect grace a call whose link never comes back fails UNAVAILABLE after the grace", "[rpc]") {
  EngineConfig config;
  config.reconnect_grace_ms = 500;
  Pair p(config);
  REQUIRE(p.srv().register_method("A.B", StreamKind::kUnary).ok());
  auto o = opts("srv", "A.B");
  o.timeout_ms = 5000;
  p.net.partition("cli", "srv", true);
  REQUIRE(p.cli().start_call(o, 0).ok());
  p.net.pump();
  p.cli().peer_down("srv", 0);
  p.net.advance(499);
  CHECK(p.client_of(EventKind::kDone).empty());
  p.net.advance(2);
  REQUIRE(p.client_of(EventKind::kDone).size() == 1);
  CHECK(p.client_of(EventKind::kDone)[0].status.code() == Code::kUnavailable);
}

// ----------------------------------------------------------------------------------- streaming

TEST_CASE("rpc: server streaming delivers every message in order, with flow control", "[rpc]") {
  EngineConfig config;
  config.window = 4;
  Pair p(config);
  REQUIRE(p.srv().register_method("Count.Up", StreamKind::kServerStream).ok());
  const int total = 11;
  int sent = 0;
  CallHandle server_call = 0;
  auto pump_sends = [&] {
    while (sent < total) {
      Status s = p.srv().send(server_call, bytes_of(std::to_string(sent)), p.net.now());
      if (s.code() == Code::kResourceExhausted) return;
      REQUIRE(s.ok());
      ++sent;
    }
    REQUIRE(p.srv().respond(server_call, {}, {}, {{"count", std::to_string(total)}}, {}, p.net.now()).ok());
    ++sent;
  };
  p.serve_fn = [&](Event& e) {
    if (e.kind == EventKind::kRequest) server_call = e.handle;
    if (e.kind == EventKind::kRequest || e.kind == EventKind::kWritable) pump_sends();
  };
  auto h = p.cli().start_call(opts("srv", "Count.Up", StreamKind::kServerStream), 0);
  REQUIRE(h.ok());
  p.net.pump();
  // Without consumption the server is stuck at the window.
  CHECK(p.client_of(EventKind::kMessage).size() == 4);
  CHECK(sent == 4);
  CHECK(p.srv().send_credit(server_call) == 0);
  for (int round = 0; round < 20 && p.client_of(EventKind::kDone).empty(); ++round) {
    REQUIRE(p.cli().consumed(*h, 1, 0).ok());
    p.net.pump();
  }
  auto msgs = p.client_of(EventKind::kMessage);
  REQUIRE(msgs.size() == total);
  for (int i = 0; i < total; ++i) CHECK(str_of(msgs[i].payload) == std::to_string(i));
  auto done = p.client_of(EventKind::kDone);
  REQUIRE(done.size() == 1);
  CHECK(done[0].status.ok());
  CHECK(done[0].metadata.at("count") == "11");
  CHECK(p.server_of(EventKind::kWritable).size() >= 2);
}

TEST_CASE("rpc: client streaming waits for credit, half-closes, gets one reply", "[rpc]") {
  Pair p;
  REQUIRE(p.srv().register_method("Sum.All", StreamKind::kClientStream).ok());
  int sum = 0;
  p.serve_fn = [&](Event& e) {
    if (e.kind == EventKind::kMessage) {
      sum += std::stoi(str_of(e.payload));
      REQUIRE(p.srv().consumed(e.handle, 1, 0).ok());
    }
    if (e.kind == EventKind::kHalfClose) REQUIRE(p.srv().respond(e.handle, {}, bytes_of(std::to_string(sum)), {}, {}, 0).ok());
  };
  auto h = p.cli().start_call(opts("srv", "Sum.All", StreamKind::kClientStream), 0);
  REQUIRE(h.ok());
  CHECK(p.cli().send(*h, bytes_of("1"), 0).code() == Code::kResourceExhausted);  // no credit yet
  p.net.pump();
  REQUIRE(p.client_of(EventKind::kWritable).size() == 1);
  int expected = 0;
  for (int i = 1; i <= 40; ++i) {
    while (p.cli().send_credit(*h) == 0) p.net.pump();
    REQUIRE(p.cli().send(*h, bytes_of(std::to_string(i)), 0).ok());
    expected += i;
  }
  REQUIRE(p.cli().end_stream(*h, 0).ok());
  CHECK(p.cli().end_stream(*h, 0).code() == Code::kFailedPrecondition);
  p.net.pump();
  auto done = p.client_of(EventKind::kDone);
  REQUIRE(done.size() == 1);
  CHECK(done[0].status.ok());
  CHECK(str_of(done[0].payload) == std::to_string(expected));
  CHECK(p.server_of(EventKind::kHalfClose).size() == 1);
}

TEST_CASE("rpc: bidi streams echo both ways and end cleanly", "[rpc]") {
  Pair p;
  REQUIRE(p.srv().register_method("Echo.Chat", StreamKind::kBidi).ok());
  p.serve_fn = [&](Event& e) {
    if (e.kind == EventKind::kMessage) {
      REQUIRE(p.srv().send(e.handle, bytes_of("echo:" + str_of(e.payload)), 0).ok());
      REQUIRE(p.srv().consumed(e.handle, 1, 0).ok());
    }
    if (e.kind == EventKind::kHalfClose) REQUIRE(p.srv().respond(e.handle, {}, {}, {}, {}, 0).ok());
  };
  auto h = p.cli().start_call(opts("srv", "Echo.Chat", StreamKind::kBidi), 0);
  REQUIRE(h.ok());
  p.net.pump();
  for (int i = 0; i < 30; ++i) {
    REQUIRE(p.cli().send(*h, bytes_of(std::to_string(i)), 0).ok());
    p.net.pump();
    REQUIRE(p.cli().consumed(*h, 1, 0).ok());
  }
  REQUIRE(p.cli().end_stream(*h, 0).ok());
  p.net.pump();
  auto msgs = p.client_of(EventKind::kMessage);
  REQUIRE(msgs.size() == 30);
  for (int i = 0; i < 30; ++i) CHECK(str_of(msgs[i].payload) == "echo:" + std::to_string(i));
  REQUIRE(p.client_of(EventKind::kDone).size() == 1);
  CHECK(p.client_of(EventKind::kDone)[0].status.ok());
}

TEST_CASE("rpc: streams are cancellable from either side", "[rpc]") {
  Pair p;
  REQUIRE(p.srv().register_method("Count.Up", StreamKind::kServerStream).ok());
  CallHandle server_call = 0;
  p.serve_fn = [&](Event& e) {
    if (e.kind == EventKind::kRequest) server_call = e.handle;
  };
  SECTION("the caller cancels") {
    auto h = p.cli().start_call(opts("srv", "Count.Up", StreamKind::kServerStream), 0);
    p.net.pump();
    REQUIRE(p.srv().send(server_call, bytes_of("a"), 0).ok());
    p.net.pump();
    REQUIRE(p.cli().cancel(*h, 0).ok());
    p.net.pump();
    CHECK(p.server_of(EventKind::kCancelled).size() == 1);
    CHECK(p.srv().send(server_call, bytes_of("b"), 0).code() == Code::kNotFound);
    CHECK(p.client_of(EventKind::kDone)[0].status.code() == Code::kCancelled);
  }
  SECTION("the handler ends the stream with an error") {
    auto h = p.cli().start_call(opts("srv", "Count.Up", StreamKind::kServerStream), 0);
    p.net.pump();
    REQUIRE(p.srv().send(server_call, bytes_of("a"), 0).ok());
    REQUIRE(p.srv().cancel(server_call, 0).ok());
    p.net.pump();
    REQUIRE(p.client_of(EventKind::kDone).size() == 1);
    CHECK(p.client_of(EventKind::kDone)[0].handle == *h);
    CHECK(p.client_of(EventKind::kDone)[0].status.code() == Code::kCancelled);
  }
}

TEST_CASE("rpc: stream reordering and duplication are repaired within the window", "[rpc]") {
  Engine srv("srv", 1);
  srv.serve("svc");
  REQUIRE(srv.register_method("Count.Up", StreamKind::kServerStream).ok());
  Engine cli("cli", 2);
  auto h = cli.start_call(opts("srv", "Count.Up", StreamKind::kServerStream), 0);
  REQUIRE(srv.handle("cli", cli.poll_transmit()->bytes, 0).ok());
  CallHandle sc = srv.poll_event()->handle;
  std::vector<Bytes> frames;
  for (int i = 0; i < 5; ++i) {
    REQUIRE(srv.send(sc, bytes_of(std::to_string(i)), 0).ok());
    frames.push_back(srv.poll_transmit()->bytes);
  }
  REQUIRE(srv.respond(sc, {}, {}, {}, {}, 0).ok());
  Bytes end = srv.poll_transmit()->bytes;
  for (int i : {4, 2, 2, 0, 3}) REQUIRE(cli.handle("srv", frames[i], 0).ok());
  REQUIRE(cli.handle("srv", end, 0).ok());  // the end overtakes message 1
  std::vector<std::string> got;
  while (auto e = cli.poll_event()) {
    CHECK(e->kind == EventKind::kMessage);
    got.push_back(str_of(e->payload));
  }
  CHECK(got == std::vector<std::string>{"0"});
  REQUIRE(cli.handle("srv", frames[1], 0).ok());
  REQUIRE(cli.handle("srv", frames[1], 0).ok());
  while (auto e = cli.poll_event()) {
    if (e->kind == EventKind::kMessage) got.push_back(str_of(e->payload));
    if (e->kind == EventKind::kDone) { CHECK(e->handle == *h); got.push_back("done"); }
  }
  CHECK(got == std::vector<std::string>{"0", "1", "2", "3", "4", "done"});
}

// -------------------------------------------------------------------------------- at-most-once

TEST_CASE("rpc: duplicated requests run once and replay the cached response", "[rpc]") {
  Engine srv("srv", 1);
  srv.serve("svc");
  REQUIRE(srv.register_method("Pay.Once", StreamKind::kUnary).ok());
  Engine cli("cli", 2);
  auto h = cli.start_call(opts("srv", "Pay.Once"), 0);
  Bytes request = cli.poll_transmit()->bytes;
  REQUIRE(srv.handle("cli", request, 0).ok());
  REQUIRE(srv.handle("cli", request, 1).ok());  // duplicate while running: ignored
  auto run = srv.poll_event();
  REQUIRE(run);
  CHECK(srv.poll_event() == std::nullopt);
  REQUIRE(srv.respond(run->handle, {}, bytes_of("paid"), {}, {}, 2).ok());
  Bytes response = srv.poll_transmit()->bytes;
  REQUIRE(srv.handle("cli", request, 3).ok());  // duplicate after: the same response again
  CHECK(srv.poll_event() == std::nullopt);
  auto replay = srv.poll_transmit();
  REQUIRE(replay);
  CHECK(replay->bytes == response);
  // The same call id from another peer is another call.
  REQUIRE(srv.handle("other", request, 4).ok());
  CHECK(srv.poll_event().has_value());
  REQUIRE(cli.handle("srv", response, 5).ok());
  REQUIRE(cli.handle("srv", replay->bytes, 5).ok());
  auto done = cli.poll_event();
  REQUIRE(done);
  CHECK(done->handle == *h);
  CHECK(cli.poll_event() == std::nullopt);  // the duplicate answer reaches no call
}

TEST_CASE("rpc: ids below the dedupe window are refused, never re-run", "[rpc]") {
  EngineConfig config;
  config.dedupe_window = 8;
  Engine srv("srv", 1, config);
  srv.serve("svc");
  REQUIRE(srv.register_method("Pay.Once", StreamKind::kUnary).ok());
  Engine cli("cli", 2);
  std::vector<Bytes> requests;
  for (int i = 0; i < 20; ++i) {
    REQUIRE(cli.start_call(opts("srv", "Pay.Once"), 0).ok());
    requests.push_back(cli.poll_transmit()->bytes);
  }
  int runs = 0;
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& r : requests) {
      REQUIRE(srv.handle("cli", r, 0).ok());
      while (auto e = srv.poll_event()) {
        ++runs;
        REQUIRE(srv.respond(e->handle, {}, {}, {}, {}, 0).ok());
      }
      while (srv.poll_transmit()) {}
    }
  }
  CHECK(runs == 20);
}

TEST_CASE("rpc: a response from another peer never completes a call", "[rpc]") {
  Engine cli("cli", 2);
  auto h = cli.start_call(opts("srv", "A.B"), 0);
  REQUIRE(h.ok());
  auto req = decode_frame(cli.poll_transmit()->bytes);
  Frame forged;
  forged.type = FrameType::kResponse;
  forged.call_id = req->call_id;
  forged.dir = Dir::kFromServer;
  forged.payload = bytes_of("evil");
  REQUIRE(cli.handle("mallory", encode_frame(forged), 0).ok());
  CHECK(cli.poll_event() == std::nullopt);
  forged.call_id = req->call_id + 1;
  REQUIRE(cli.handle("srv", encode_frame(forged), 0).ok());
  CHECK(cli.poll_event() == std::nullopt);
  forged.call_id = req->call_id;
  REQUIRE(cli.handle("srv", encode_frame(forged), 0).ok());
  auto done = cli.poll_event();
  REQUIRE(done);
  CHECK(done->handle == *h);
}

// Two clients whose engines drew the same session use the same wire ids: the server keeps their
// calls apart by peer (answers, cancels and dedupe).
TEST_CASE("rpc: calls from two peers with the same wire id are told apart", "[rpc]") {
  Engine a("a", 5), b("b", 5), srv("srv", 9);
  srv.serve("svc");
  REQUIRE(srv.register_method("A.B", StreamKind::kUnary).ok());
  auto call_a = a.start_call(opts("srv", "A.B"), 0);
  REQUIRE(call_a.ok());
  REQUIRE(b.start_call(opts("srv", "A.B"), 0).ok());
  auto from_a = a.poll_transmit();
  auto from_b = b.poll_transmit();
  REQUIRE((from_a && from_b));
  REQUIRE(decode_frame(from_a->bytes)->call_id == decode_frame(from_b->bytes)->call_id);
  REQUIRE(srv.handle("a", from_a->bytes, 0).ok());
  REQUIRE(srv.handle("b", from_b->bytes, 0).ok());
  REQUIRE(srv.handle("a", from_a->bytes, 0).ok());  // a duplicate of a's request: not a new call
  std::map<PeerKey, CallHandle> running;
  while (auto e = srv.poll_event()) running[e->peer] = e->handle;
  REQUIRE(running.size() == 2);
  CHECK(srv.active_calls() == 2);
  // a cancels: only a's handler learns of it.
  REQUIRE(a.cancel(*call_a, 0).ok());
  REQUIRE(srv.handle("a", a.poll_transmit()->bytes, 0).ok());
  auto cancelled = srv.poll_event();
  REQUIRE(cancelled);
  CHECK(cancelled->kind == EventKind::kCancelled);
  CHECK(cancelled->handle == running.at("a"));
  REQUIRE(srv.respond(running.at("b"), {}, bytes_of("for b"), {}, {}, 0).ok());
  auto answer = srv.poll_transmit();
  REQUIRE(answer);
  CHECK(answer->peer == "b");
  REQUIRE(b.handle("srv", answer->bytes, 0).ok());
  (void)a.poll_event();  // a's own cancelled kDone
  auto done = b.poll_event();
  REQUIRE(done);
  CHECK(done->status.ok());
  CHECK(str_of(done->payload) == "for b");
  CHECK(srv.active_calls() == 0);
}

// ---------------------------------------------------------------- discovery and load balancing

TEST_CASE("rpc: registry entries expire with their TTL, and advertisements round-trip", "[rpc]") {
  Registry reg;
  REQUIRE(reg.upsert("greeter", "a", {{"v", "1"}}, 100, 0).ok());
  REQUIRE(reg.upsert("greeter", "b", {}, 0, 0).ok());  // static
  CHECK(reg.instances("greeter", 50).size() == 2);
  CHECK(reg.instances("greeter", 100).size() == 1);
  CHECK(reg.count("greeter", 50) == 2);
  CHECK(reg.count("greeter", 100) == 1);
  CHECK(reg.count("nobody", 0) == 0);
  REQUIRE(reg.upsert("greeter", "a", {{"v", "2"}}, 100, 90).ok());  // refreshed
  auto live = reg.instances("greeter", 150);
  REQUIRE(live.size() == 2);
  CHECK(live[0].peer == "a");
  CHECK(live[0].metadata.at("v") == "2");
  reg.expire(1000);
  CHECK(reg.instances("greeter", 1000).size() == 1);
  CHECK(reg.upsert("", "a", {}, 1, 0).code() == Code::kInvalidArgument);

  Advertisement ad{"peer-x", {{"greeter", {{"zone", "eu"}}}, {"billing", {}}}, 5000};
  auto back = decode_advertisement(encode_advertisement(ad));
  REQUIRE(back.ok());
  CHECK(back->peer == "peer-x");
  CHECK(back->ttl_ms == 5000);
  REQUIRE(back->services.size() == 2);
  CHECK(back->services[0].metadata.at("zone") == "eu");
  REQUIRE(reg.apply(*back, 0).ok());
  CHECK(reg.services(10) == std::vector<std::string>{"billing", "greeter"});
  Bytes wire = encode_advertisement(ad);
  for (std::size_t n = 0; n < wire.size(); ++n) CHECK_FALSE(decode_advertisement(Bytes(wire.begin(), wire.begin() + n)).ok());
}

// Servers s1..s3 serving "greeter" (Greeter.Hello, unary) and a client "cli" whose registry
// lists all three with `ttl_ms` (0: static).
static Engine& three_greeters(RpcNet& net, std::int64_t ttl_ms) {
  for (std::string name : {"s1", "s2", "s3"}) {
    auto& s = net.add(name);
    s.serve("greeter");
    REQUIRE(s.register_method("Greeter.Hello", StreamKind::kUnary).ok());
  }
  auto& cli = net.add("cli");
  for (std::string name : {"s1", "s2", "s3"}) REQUIRE(cli.registry().upsert("greeter", name, {}, ttl_ms, 0).ok());
  return cli;
}

TEST_CASE("rpc: round-robin spreads calls evenly over 3 instances", "[rpc]") {
  RpcNet net(3);
  std::map<std::string, int> served;
  auto& cli = three_greeters(net, 60000);
  int ok = 0;
  net.on_event([&](const std::string& node, Event& e) {
    if (e.kind == EventKind::kRequest) {
      ++served[node];
      REQUIRE(net.at(node).respond(e.handle, {}, {}, {}, {}, 0).ok());
    }
    if (e.kind == EventKind::kDone && e.status.ok()) ++ok;
  });
  for (int i = 0; i < 300; ++i) {
    auto o = opts("", "Greeter.Hello");
    o.service = "greeter";
    REQUIRE(cli.start_call(o, 0).ok());
    net.pump();
  }
  CHECK(ok == 300);
  CHECK(served == std::map<std::string, int>{{"s1", 100}, {"s2", 100}, {"s3", 100}});
}

TEST_CASE("rpc: random selection is seeded and covers every instance", "[rpc]") {
  std::vector<Instance> inst{{"a", {}, kNoDeadline}, {"b", {}, kNoDeadline}, {"c", {}, kNoDeadline}};
  auto run = [&](std::uint64_t seed) {
    Balancer b(seed);
    std::vector<PeerKey> picks;
    for (int i = 0; i < 300; ++i) picks.push_back(*b.pick("s", inst, Strategy::kRandom, "", {}, 0));
    return picks;
  };
  auto picks = run(11);
  CHECK(picks == run(11));
  CHECK(picks != run(12));
  std::map<PeerKey, int> counts;
  for (const auto& p : picks) ++counts[p];
  for (const auto& [peer, n] : counts) CHECK(n > 60);
  CHECK(counts.size() == 3);
}

TEST_CASE("rpc: consistent hashing is stable and moves only the removed instance's keys", "[rpc]") {
  std::vector<PeerKey> five{"n1", "n2", "n3", "n4", "n5"};
  std::vector<PeerKey> four{"n1", "n2", "n4", "n5"};  // n3 leaves
  std::map<PeerKey, int> load;
  int moved = 0;
  for (int k = 0; k < 2000; ++k) {
    std::string key = "user-" + std::to_string(k);
    PeerKey before = Balancer::ring_owner(five, key);
    PeerKey after = Balancer::ring_owner(four, key);
    CHECK(Balancer::ring_owner(five, key) == before);  // stable
    ++load[before];
    if (before != "n3") CHECK(after == before);  // minimal reshuffle
    if (before != after) ++moved;
  }
  CHECK(moved == load["n3"]);
  for (const auto& [peer, n] : load) {
    INFO(peer << " owns " << n);
    CHECK(n > 200);  // 64 virtual nodes keep the ring roughly balanced (ideal 400)
    CHECK(n < 650);
  }
  // Through the balancer: an ejected owner's keys go to the next point, the others stay.
  Balancer b(1, OutlierConfig{.consecutive_failures = 1});
  std::vector<Instance> inst;
  for (const auto& p : five) inst.push_back({p, {}, kNoDeadline});
  b.report("n3", false, 0);
  for (int k = 0; k < 200; ++k) {
    std::string key = "user-" + std::to_string(k);
    auto picked = b.pick("s", inst, Strategy::kConsistentHash, key, {}, 1);
    REQUIRE(picked.ok());
    CHECK(*picked == Balancer::ring_owner(four, key));
  }
}

TEST_CASE("rpc: outlier detection ejects after consecutive failures, with backoff", "[rpc]") {
  OutlierConfig oc;
  oc.consecutive_failures = 3;
  oc.base_ejection_ms = 1000;
  Balancer b(5, oc);
  std::vector<Instance> inst{{"a", {}, kNoDeadline}, {"b", {}, kNoDeadline}};
  b.report("a", false, 0);
  b.report("a", false, 0);
  b.report("a", true, 0);  // a success resets the run
  b.report("a", false, 0);
  b.report("a", false, 0);
  CHECK_FALSE(b.ejected("a", 0));
  b.report("a", false, 0);
  CHECK(b.ejected("a", 0));
  for (int i = 0; i < 10; ++i) CHECK(*b.pick("s", inst, Strategy::kRoundRobin, "", {}, 500) == "b");
  CHECK_FALSE(b.ejected("a", 1000));
  for (int i = 0; i < 3; ++i) b.report("a", false, 1000);
  CHECK(b.ejected("a", 2999));  // second ejection lasts twice as long
  CHECK_FALSE(b.ejected("a", 3000));
  // Panic mode: every instance ejected -> still pick one; all excluded -> UNAVAILABLE.
  for (int i = 0; i < 3; ++i) b.report("b", false, 1000);
  CHECK(b.pick("s", inst, Strategy::kRoundRobin, "", {}, 1500).ok());
  CHECK(b.pick("s", inst, Strategy::kRoundRobin, "", {"a", "b"}, 1500).status().code() == Code::kUnavailable);
}

TEST_CASE("rpc: idempotent calls retry on another instance, others do not", "[rpc]") {
  RpcNet net(4);
  std::map<std::string, int> served;
  auto& cli = three_greeters(net, 0);
  std::vector<Event> done;
  net.on_event([&](const std::string& node, Event& e) {
    if (e.kind == EventKind::kRequest) {
      ++served[node];
      Status s = node == "s3" ? Status{} : unavailable(node + " is overloaded");
      REQUIRE(net.at(node).respond(e.handle, s, bytes_of(node), {}, {}, 0).ok());
    }
    if (e.kind == EventKind::kDone) done.push_back(e);
  });
  auto o = opts("", "Greeter.Hello");
  o.service = "greeter";
  o.idempotent = true;
  o.retries = 2;
  REQUIRE(cli.start_call(o, 0).ok());  // round-robin starts at s1, which fails
  net.pump();
  REQUIRE(done.size() == 1);
  CHECK(done[0].status.ok());
  CHECK(str_of(done[0].payload) == "s3");
  CHECK(done[0].attempts >= 2);
  int total = 0;
  for (const auto& [node, n] : served) {
    CHECK(n == 1);  // each attempt went to a different instance
    total += n;
  }
  CHECK(total == static_cast<int>(done[0].attempts));
  CHECK(served.count("s1") == 1);
  // Not idempotent: the failure is final, whatever the retry budget.
  o.idempotent = false;
  o.peer = "s1";
  REQUIRE(cli.start_call(o, 0).ok());
  net.pump();
  REQUIRE(done.size() == 2);
  CHECK(done[1].attempts == 1);
  CHECK(done[1].status.code() == Code::kUnavailable);
  CHECK(served["s1"] == 2);
}

TEST_CASE("rpc: an attempt timeout moves an idempotent call off a silent instance", "[rpc]") {
  RpcNet net(5);
  for (std::string name : {"dead", "live"}) {
    auto& s = net.add(name);
    s.serve("greeter");
    REQUIRE(s.register_method("Greeter.Hello", StreamKind::kUnary).ok());
  }
  auto& cli = net.add("cli");
  REQUIRE(cli.registry().upsert("greeter", "dead", {}, 0, 0).ok());
  REQUIRE(cli.registry().upsert("greeter", "live", {}, 0, 0).ok());
  std::vector<Event> done;
  net.on_event([&](const std::string& node, Event& e) {
    if (e.kind == EventKind::kRequest && node == "live") REQUIRE(net.at(node).respond(e.handle, {}, {}, {}, {}, net.now()).ok());
    if (e.kind == EventKind::kDone) done.push_back(e);
  });
  auto o = opts("", "Greeter.Hello");
  o.service = "greeter";
  o.idempotent = true;
  o.retries = 1;
  o.attempt_timeout_ms = 100;
  REQUIRE(cli.start_call(o, 0).ok());
  net.advance(150);
  REQUIRE(done.size() == 1);
  CHECK(done[0].status.ok());
  CHECK(done[0].peer == "live");
  CHECK(net.now() >= 100);
}

TEST_CASE("rpc: reserved handles start queued calls, and a failed start is a kDone event", "[rpc]") {
  Pair p;
  REQUIRE(p.srv().register_method("A.B", StreamKind::kUnary).ok());
  p.serve_fn = [&](Event& e) {
    if (e.kind == EventKind::kRequest) REQUIRE(p.srv().respond(e.handle, {}, e.payload, {}, {}, 0).ok());
  };
  CallHandle first = p.cli().reserve_handles(3);
  auto o = opts("srv", "A.B");
  o.payload = bytes_of("r");
  REQUIRE(p.cli().start_reserved_call(first + 1, o, 0).ok());
  CHECK(p.cli().start_reserved_call(first + 1, o, 0).code() == Code::kInvalidArgument);  // in use
  CHECK(p.cli().start_reserved_call(first + 7, o, 0).code() == Code::kInvalidArgument);  // not reserved
  auto bad = opts("", "A.B");  // no instance of "svc" in the registry
  CHECK(p.cli().start_reserved_call(first, bad, 0).code() == Code::kUnavailable);
  auto h = p.cli().start_call(o, 0);  // ordinary handles come after the reserved range
  REQUIRE(h.ok());
  CHECK(*h == first + 3);
  p.net.pump();
  auto done = p.client_of(EventKind::kDone);
  REQUIRE(done.size() == 3);
  CHECK(done[0].handle == first);
  CHECK(done[0].status.code() == Code::kUnavailable);
  std::set<CallHandle> ok;
  for (const auto& d : done) if (d.status.ok()) ok.insert(d.handle);
  CHECK(ok == std::set<CallHandle>{first + 1, first + 3});
}

TEST_CASE("rpc: dedupe marks handed to a restarted engine refuse what may have run, and run what is new", "[rpc]") {
  EngineConfig config;
  config.sessions_per_peer_max = 2;
  Engine srv("srv", 1, config);
  srv.serve("svc");
  srv.track_dedupe(true);
  REQUIRE(srv.register_method("Pay.Once", StreamKind::kUnary).ok());
  Engine cli("cli", 2);
  std::vector<Bytes> requests;
  for (int i = 0; i < 4; ++i) {
    REQUIRE(cli.start_call(opts("srv", "Pay.Once"), 0).ok());
    requests.push_back(cli.poll_transmit()->bytes);
  }
  REQUIRE(srv.handle("cli", requests[0], 0).ok());
  REQUIRE(srv.handle("cli", requests[2], 0).ok());
  auto marks = srv.take_dedupe_marks();
  REQUIRE(marks.size() == 1);  // one per session touched, however many calls
  CHECK(marks[0].peer == "cli");
  REQUIRE(marks[0].high.has_value());
  CHECK(*marks[0].high == 3);
  CHECK(srv.take_dedupe_marks().empty());

  Engine restarted("srv", 3, config);
  restarted.serve("svc");
  REQUIRE(restarted.register_method("Pay.Once", StreamKind::kUnary).ok());
  restarted.restore_dedupe_mark(marks[0].peer, marks[0].session, *marks[0].high);
  for (int i : {2, 0, 1}) {  // ran, ran, never arrived: the restarted engine cannot tell them apart
    REQUIRE(restarted.handle("cli", requests[static_cast<std::size_t>(i)], 1).ok());
    CHECK(restarted.poll_event() == std::nullopt);
    auto refusal = restarted.poll_transmit();
    REQUIRE(refusal);
    REQUIRE(cli.handle("srv", refusal->bytes, 1).ok());
    auto done = cli.poll_event();
    REQUIRE(done);
    CHECK(done->status.code() == Code::kAborted);
  }
  REQUIRE(restarted.handle("cli", requests[3], 2).ok());  // above the mark: a new call runs
  auto run = restarted.poll_event();
  REQUIRE(run);
  CHECK(run->kind == EventKind::kRequest);

  // Sessions evicted by the bound are reported as forgotten; without tracking nothing is kept.
  for (int s = 0; s < 3; ++s) {
    Engine other("cli", 10 + static_cast<std::uint64_t>(s));
    REQUIRE(other.start_call(opts("srv", "Pay.Once"), 0).ok());
    REQUIRE(srv.handle("cli", other.poll_transmit()->bytes, 3).ok());
  }
  int forgotten = 0;
  for (const auto& m : srv.take_dedupe_marks()) forgotten += !m.high.has_value();
  CHECK(forgotten == 2);  // cli's first session and the first new one, least recently used
  REQUIRE(restarted.handle("cli", requests[3], 4).ok());
  CHECK(restarted.take_dedupe_marks().empty());
}
