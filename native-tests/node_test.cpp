// nitro::Node driven by hand (the way the JS host drives it) and the gossip wire codec.
#include <catch2/catch.hpp>

#include <map>

#include "gossip/rng.h"
#include "gossip/wire.h"
#include "nitro/node.h"
#include "nitro/sim.h"

using namespace nitro;

namespace {

NodeConfig config_for(std::uint8_t n, const std::string& address, const NodeLimits& limits = {}) {
  NodeConfig c;
  c.limits = limits;
  c.identity_seed[0] = n;
  c.entropy[0] = static_cast<std::uint8_t>(n + 100);
  c.listen_address = address;
  return c;
}

// A two-node host: an ordered, lossless pipe between "a" and "b" (like one WebSocket).
struct Pair {
  explicit Pair(const NodeLimits& limits = {}) : a(config_for(1, "a", limits)), b(config_for(2, "b", limits)) {}
  Node a;
  Node b;
  std::uint64_t now_ms = 0;
  std::vector<Event> events_a, events_b;
  bool drain_a_transmits = true;

  Node& other(Node& n) { return &n == &a ? b : a; }
  const char* name(Node& n) { return &n == &a ? "a" : "b"; }

  // Moves frames and events until both nodes are quiet; bounded.
  void pump() {
    for (int round = 0; round < 1000; ++round) {
      bool moved = false;
      for (Node* n : {&a, &b}) {
        if (n == &a && !drain_a_transmits) continue;
        while (auto t = n->poll_transmit()) {
          (void)other(*n).handle(name(*n), t->bytes, now_ms);
          moved = true;
        }
        while (auto e = n->poll_event()) {
          if (e->type == EventType::kDial) {
            other(*n).connect(name(*n), false, now_ms);
            n->connect(e->address, true, now_ms);
          }
          (n == &a ? events_a : events_b).push_back(*e);
          moved = true;
        }
      }
      if (!moved) return;
    }
  }
  void advance(std::uint64_t ms) {
    const std::uint64_t end = now_ms + ms;
    while (true) {
      auto da = a.next_deadline(), db = b.next_deadline();
      std::uint64_t next = end;
      if (da) next = std::min(next, std::max(*da, now_ms));
      if (db) next = std::min(next, std::max(*db, now_ms));
      now_ms = next;
      a.tick(now_ms);
      b.tick(now_ms);
      pump();
      if (now_ms >= end) return;
    }
  }
};

class EchoProtocol : public Protocol {
 public:
  explicit EchoProtocol(std::vector<std::string>* log) : log_(log) {}
  void attach(ProtocolContext& ctx) override { ctx_ = &ctx; }
  void on_message(const PeerId& from, std::span<const std::uint8_t> bytes, std::uint64_t) override {
    std::string text(bytes.begin(), bytes.end());
    log_->push_back(text);
    if (text.rfind("ping", 0) == 0) {
      std::string reply = "pong" + text.substr(4);
      (void)ctx_->send(from, Bytes(reply.begin(), reply.end()));
    } else {
      ctx_->emit(Bytes(bytes.begin(), bytes.end()));
    }
  }
  ProtocolContext* ctx_ = nullptr;

 private:
  std::vector<std::string>* log_;
};

}  // namespace

TEST_CASE("node: two nodes handshake and join and exchange pub/sub and direct messages through the public API", "[node]") {
  Pair p;
  REQUIRE(p.b.subscribe("news").ok());
  p.a.start(0);
  p.b.start(0);
  p.a.join("b", 0);
  p.pump();
  p.advance(2000);
  REQUIRE(p.a.neighbors().size() == 1);
  REQUIRE(p.b.neighbors().size() == 1);
  CHECK(p.a.neighbors()[0] == p.b.id());
  CHECK(p.a.peers().size() == 1);
  CHECK(p.a.peers()[0].listen_address == "b");

  auto seq = p.a.publish("news", Bytes{'h', 'i'}, p.now_ms);
  REQUIRE(seq.ok());
  CHECK(*seq == 1);
  p.pump();
  bool got = false;
  for (const auto& e : p.events_b) {
    if (e.type == EventType::kMessage) {
      got = true;
      CHECK(e.topic == "news");
      CHECK(e.origin == p.a.id());
      CHECK(e.seq == 1);
      CHECK(e.payload == Bytes{'h', 'i'});
    }
  }
  CHECK(got);

  REQUIRE(p.a.send(p.b.id(), "app", Bytes{7, 8}, p.now_ms).ok());
  p.pump();
  bool direct = false;
  for (const auto& e : p.events_b) direct |= e.type == EventType::kDirect && e.topic == "app" && e.payload == Bytes{7, 8};
  CHECK(direct);
}

TEST_CASE("node: protocols plug in by channel and talk over the secure link", "[node]") {
  Pair p;
  std::vector<std::string> log_a, log_b;
  REQUIRE(p.a.add_protocol("echo", std::make_unique<EchoProtocol>(&log_a)).ok());
  REQUIRE(p.b.add_protocol("echo", std::make_unique<EchoProtocol>(&log_b)).ok());
  CHECK(p.a.add_protocol("echo", std::make_unique<EchoProtocol>(&log_a)).code() == Code::kAlreadyExists);
  CHECK(p.a.add_protocol("nitro.x", std::make_unique<EchoProtocol>(&log_a)).code() == Code::kInvalidArgument);
  p.a.start(0);
  p.b.start(0);
  p.a.join("b", 0);
  p.pump();
  p.advance(1000);
  auto* echo = static_cast<EchoProtocol*>(p.a.protocol("echo"));
  REQUIRE(echo != nullptr);
  std::string ping = "ping 1";
  REQUIRE(echo->ctx_->send(p.b.id(), Bytes(ping.begin(), ping.end())).ok());
  p.pump();
  REQUIRE(log_b.size() == 1);
  CHECK(log_b[0] == "ping 1");
  REQUIRE(log_a.size() == 1);
  CHECK(log_a[0] == "pong 1");
}

TEST_CASE("node: malformed input is a typed error and changes nothing", "[node]") {
  Pair p;
  p.a.start(0);
  p.b.start(0);
  p.a.join("b", 0);
  p.pump();
  p.advance(1000);
  REQUIRE(p.a.neighbors().size() == 1);
  const auto before = p.b.neighbors();
  nitro::gossip::Rng rng(9);
  for (int i = 0; i < 2000; ++i) {
    Bytes junk(rng.below(200));
    for (auto& byte : junk) byte = static_cast<std::uint8_t>(rng.next());
    if (!junk.empty() && rng.chance(0.5)) junk[0] = 0x04;  // looks like a transport frame
    Status s = p.b.handle("a", junk, p.now_ms);
    CHECK_FALSE(s.ok());
  }
  CHECK(p.b.handle("nobody", Bytes{1, 2, 3}, p.now_ms).code() == Code::kFailedPrecondition);
  CHECK(p.b.neighbors() == before);
  CHECK(p.b.stats().auth_failures + p.b.stats().decode_errors > 0);
  // The link still works afterwards.
  REQUIRE(p.a.send(p.b.id(), "app", Bytes{1}, p.now_ms).ok());
  p.pump();
  CHECK(p.events_b.back().type == EventType::kDirect);
}

TEST_CASE("node: publish refuses above the outbound high-water mark (backpressure)", "[node]") {
  NodeLimits limits;
  limits.transmit_queue_high_water = 64;
  Pair p(limits);
  p.a.start(0);
  p.b.start(0);
  p.a.join("b", 0);
  p.pump();
  p.advance(1000);
  REQUIRE(p.a.neighbors().size() == 1);
  p.drain_a_transmits = false;  // the transport stalls
  const std::size_t high = p.a.config().limits.transmit_queue_high_water;
  Status last;
  std::size_t accepted = 0;
  for (std::size_t i = 0; i < high + 10; ++i) {
    auto r = p.a.publish("t", Bytes{1}, p.now_ms);
    if (!r.ok()) {
      last = r.status();
      break;
    }
    ++accepted;
  }
  CHECK(last.code() == Code::kResourceExhausted);
  CHECK(accepted <= high);
  CHECK(p.a.send(p.b.id(), "app", Bytes{1}, p.now_ms).code() == Code::kResourceExhausted);
  p.drain_a_transmits = true;
  p.pump();
  CHECK(p.a.publish("t", Bytes{1}, p.now_ms).ok());
}

TEST_CASE("node: state survives save and restore and a bad state is a decode error", "[node]") {
  Node a(config_for(1, "a"));
  REQUIRE(a.publish("t", Bytes{1}, 0).ok());
  REQUIRE(a.publish("t", Bytes{1}, 0).ok());
  auto restored = Node::restore(config_for(9, "a"), a.save_state());
  REQUIRE(restored.ok());
  CHECK((*restored)->id() == a.id());
  auto seq = (*restored)->publish("t", Bytes{1}, 0);
  REQUIRE(seq.ok());
  CHECK(*seq == 3);
  CHECK(Node::restore(config_for(1, "a"), Bytes{0xc1}).status().code() == Code::kDecodeError);
  CHECK(Node::restore(config_for(1, "a"), Bytes{0x80}).status().code() == Code::kDecodeError);
}

// Applies `n`'s pending store ops to `store`, as a host's store would.
static void drain_store(Node& n, StoredRecords& store) {
  while (auto op = n.poll_store()) {
    if (op->value) store[op->key] = *op->value;
    else store.erase(op->key);
  }
}

TEST_CASE("node: the identity and a block of sequence numbers are written ahead of the first publish", "[node]") {
  Node a(config_for(1, "a"));
  StoredRecords store;
  drain_store(a, store);
  REQUIRE(store.count("node/identity") == 1);
  CHECK(store["node/identity"].size() == 32);
  REQUIRE(a.publish("t", Bytes{1}, 0).ok());
  auto op = a.poll_store();  // the reservation is queued by the publish that first needs it
  REQUIRE(op.has_value());
  CHECK(op->key == "node/seq/t");
  REQUIRE(op->value.has_value());
  store[op->key] = *op->value;
  std::uint64_t reserved = 0;
  for (int i = 0; i < 8; ++i) reserved |= static_cast<std::uint64_t>((*op->value)[i]) << (8 * i);
  CHECK(reserved >= 1);
  // Publishes inside the block write nothing more.
  for (std::uint64_t k = 2; k <= reserved && k < 50; ++k) REQUIRE(a.publish("t", Bytes{1}, 0).ok());
  CHECK(!a.poll_store().has_value());
  // A node restarted from the records resumes above the whole block (whatever it had sent).
  auto restored = Node::restore(config_for(1, "a"), store);
  REQUIRE(restored.ok());
  CHECK((*restored)->id() == a.id());
  auto seq = (*restored)->publish("t", Bytes{2}, 0);
  REQUIRE(seq.ok());
  CHECK(*seq == reserved + 1);
  // Once past its block, the restarted node reserves the next one before using it.
  auto next = (*restored)->poll_store();
  REQUIRE(next.has_value());
  CHECK(next->key == "node/seq/t");
}

TEST_CASE("node: restore from records refuses another identity and bad records", "[node]") {
  Node a(config_for(1, "a"));
  StoredRecords store;
  drain_store(a, store);
  NodeConfig unspecified = config_for(0, "a");
  unspecified.identity_seed = {};
  auto same = Node::restore(unspecified, store);  // no identity in the config: the stored one
  REQUIRE(same.ok());
  CHECK((*same)->id() == a.id());
  CHECK(Node::restore(config_for(2, "a"), store).status().code() == Code::kFailedPrecondition);
  CHECK(Node::restore(config_for(1, "a"), StoredRecords{}).status().code() == Code::kNotFound);
  StoredRecords bad = store;
  bad["node/seq/t"] = Bytes{1, 2, 3};
  CHECK(Node::restore(config_for(1, "a"), bad).status().code() == Code::kDecodeError);
  bad = store;
  bad["node/peers"] = Bytes{0xc1};
  CHECK(Node::restore(config_for(1, "a"), bad).status().code() == Code::kDecodeError);
  bad = store;
  bad["node/identity"] = Bytes{1, 2};
  CHECK(Node::restore(config_for(1, "a"), bad).status().code() == Code::kDecodeError);
  // Records of protocols are kept for them.
  StoredRecords with_app = store;
  with_app["app/x"] = Bytes{7};
  auto r = Node::restore(config_for(1, "a"), with_app);
  REQUIRE(r.ok());
}

TEST_CASE("gossip: wire frames round-trip and garbage is a decode error", "[gossip]") {
  gossip::Msg m;
  m.kind = gossip::Kind::kShuffle;
  m.has_peer = true;
  m.peer = gossip::PeerRef{PeerId(std::array<std::uint8_t, 32>{1, 2, 3}), "ws://x:1"};
  m.ttl = 4;
  m.flag = true;
  m.nonce = 99;
  m.peers = {m.peer, gossip::PeerRef{PeerId(std::array<std::uint8_t, 32>{4}), "n4"}};
  m.ids = {gossip::IdRound{gossip::MsgId{m.peer.id, "topic", 7}, 3}};
  m.name = "x";
  m.body = Bytes{1, 2};
  auto d = gossip::decode(gossip::encode(m));
  REQUIRE(d.ok());
  CHECK(d->kind == m.kind);
  CHECK(d->peer == m.peer);
  CHECK(d->peers.size() == 2);
  CHECK(d->ids.size() == 1);
  CHECK(d->ids[0].id == m.ids[0].id);
  CHECK(d->ids[0].round == 3);
  CHECK(d->nonce == 99);
  Bytes frame = gossip::encode(m);
  for (std::size_t n = 0; n < frame.size(); ++n) {
    CHECK(gossip::decode(std::span(frame.data(), n)).status().code() == Code::kDecodeError);
  }
  m.ttl = 17;  // above WireLimits::ttl_max
  CHECK_FALSE(gossip::decode(gossip::encode(m)).ok());
  CHECK_FALSE(gossip::decode(Bytes{0x91, 0x01}).ok());
}
