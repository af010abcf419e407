// Presence: per-document ephemeral peer states over gossip, renewed and timed out in the core
// (see nitro/presence.h for the contract).
#include "nitro/presence.h"

#include <algorithm>

#include "nitro/codec.h"

namespace nitro {
namespace {

constexpr const char* kTopicPrefix = "presence/";
constexpr std::size_t kMessageBytesMax = Presence::kStateBytesMax + Presence::kDocNameBytesMax + 64;

Value str(const char* s) { return Value{std::string(s)}; }

std::optional<std::uint64_t> uint_field(const Value& m, const char* key) {
  const Value* v = m.find(key);
  if (v && v->is<std::int64_t>() && v->as<std::int64_t>() >= 0) return static_cast<std::uint64_t>(v->as<std::int64_t>());
  if (v && v->is<std::uint64_t>()) return v->as<std::uint64_t>();
  return std::nullopt;
}

Value id_list(const std::vector<PeerId>& ids) {
  Array out;
  for (const PeerId& p : ids) out.emplace_back(p.to_string());
  return Value{std::move(out)};
}

}  // namespace

Bytes encode_presence_message(const PresenceMessage& m) {
  return codec::encode(Value{nitro::Map{{str("d"), Value{m.doc}},
                                        {str("q"), Value{m.session}},
                                        {str("c"), Value{m.clock}},
                                        {str("s"), m.state ? Value{*m.state} : Value{}}}});
}

Result<PresenceMessage> decode_presence_message(std::span<const std::uint8_t> bytes) {
  if (bytes.size() > kMessageBytesMax) return Status(decode_error("presence: message too large"));
  codec::Limits limits;
  limits.frame_bytes_max = kMessageBytesMax;
  limits.depth_max = 1;
  limits.collection_len_max = 8;
  auto v = codec::decode(bytes, limits);
  if (!v.ok()) return v.status();
  const Value* d = v->find("d");
  const Value* s = v->find("s");
  auto q = uint_field(*v, "q"), c = uint_field(*v, "c");
  if (!d || !d->is<std::string>() || !q || !c || !s) return Status(decode_error("presence: d, q, c and s are required"));
  const auto& doc = d->as<std::string>();
  if (doc.empty() || doc.size() > Presence::kDocNameBytesMax) return Status(decode_error("presence: bad document name"));
  PresenceMessage m;
  m.doc = doc;
  m.session = *q;
  m.clock = *c;
  if (s->is<Bytes>()) {
    if (s->as<Bytes>().size() > Presence::kStateBytesMax) return Status(decode_error("presence: state too large"));
    m.state = s->as<Bytes>();
  } else if (!s->is_nil()) {
    return Status(decode_error("presence: s is bin or nil"));
  }
  return m;
}

Result<std::unique_ptr<Presence>> Presence::create(PresenceConfig config) {
  if (config.renew_ms == 0) return Status(invalid_argument("renew_ms must be positive"));
  if (config.timeout_ms <= config.renew_ms) return Status(invalid_argument("timeout_ms must exceed renew_ms"));
  return std::unique_ptr<Presence>(new Presence(config));
}

void Presence::attach(ProtocolContext& ctx) {
  ctx_ = &ctx;
  std::uint8_t b[8];
  ctx.random_bytes(b);
  for (std::uint8_t x : b) session_ = session_ << 8 | x;
  session_ &= (std::uint64_t{1} << 53) - 1;  // a JS number holds it exactly
}

Status Presence::open(const std::string& doc) {
  if (!ctx_) return failed_precondition("presence: not attached");
  if (doc.empty() || doc.size() > kDocNameBytesMax) return invalid_argument("presence: a document name is 1..200 bytes");
  if (rooms_.count(doc)) return {};
  if (rooms_.size() >= kDocsMax) return resource_exhausted("presence: too many documents");
  NITRO_TRY(ctx_->subscribe(kTopicPrefix + doc));
  rooms_.emplace(doc, Room{});
  return {};
}

Status Presence::set_local(const std::string& doc, std::optional<Bytes> state) {
  if (state && state->size() > kStateBytesMax) return invalid_argument("presence: a state is at most 16 KiB");
  NITRO_TRY(open(doc));
  Room& room = rooms_.at(doc);
  const std::uint64_t now = ctx_->now_ms();
  Diff diff;
  const PeerId& self = ctx_->local_id();
  if (state) {
    (room.entries.count(self) ? diff.updated : diff.added).push_back(self);
    room.entries[self] = PresenceEntry{session_, clock_ + 1, *state, now};
  } else if (room.entries.erase(self)) {
    diff.removed.push_back(self);
  }
  room.has_local = state.has_value();
  publish(doc, room, now);
  emit_change(doc, diff);
  return {};
}

void Presence::close(const std::string& doc) {
  auto it = rooms_.find(doc);
  if (it == rooms_.end()) return;
  if (it->second.has_local) {
    it->second.has_local = false;
    it->second.entries.erase(ctx_->local_id());
    publish(doc, it->second, ctx_->now_ms());
  }
  (void)ctx_->unsubscribe(kTopicPrefix + doc);
  rooms_.erase(it);
}

const std::map<PeerId, PresenceEntry>* Presence::states(const std::string& doc) const {
  auto it = rooms_.find(doc);
  return it == rooms_.end() ? nullptr : &it->second.entries;
}

// Publishes the local state (or its removal) with the next clock.
void Presence::publish(const std::string& doc, Room& room, std::uint64_t now_ms) {
  PresenceMessage m;
  m.doc = doc;
  m.session = session_;
  m.clock = ++clock_;
  auto self = room.entries.find(ctx_->local_id());
  if (room.has_local && self != room.entries.end()) {
    m.state = self->second.state;
    self->second.clock = m.clock;
  }
  (void)ctx_->publish(kTopicPrefix + doc, encode_presence_message(m));  // a lost one: the next renewal
  room.next_renew_ms = now_ms + config_.renew_ms;
  room.last_announce_ms = now_ms;
}

void Presence::on_message(const PeerId&, std::span<const std::uint8_t>, std::uint64_t) {}  // gossip only

void Presence::on_broadcast(const std::string& topic, const PeerId& origin, std::uint64_t,
                            std::span<const std::uint8_t> payload, std::uint64_t now_ms) {
  if (origin == ctx_->local_id()) return;
  auto m = decode_presence_message(payload);
  if (!m.ok() || topic != kTopicPrefix + m->doc) return;
  auto it = rooms_.find(m->doc);
  if (it == rooms_.end()) return;
  Room& room = it->second;
  auto held = room.entries.find(origin);
  Diff diff;
  if (held != room.entries.end()) {
    const bool newer = m->session != held->second.session || m->clock > held->second.clock;
    if (!newer) return;
    if (m->state) {
      if (held->second.state != *m->state) diff.updated.push_back(origin);
      held->second = PresenceEntry{m->session, m->clock, *m->state, now_ms};
    } else {
      forget(room, origin, PresenceEntry{m->session, m->clock, {}, now_ms}, now_ms);
      room.entries.erase(held);
      diff.removed.push_back(origin);
    }
  } else {
    if (!m->state || room.entries.size() >= kPeersMax) return;
    auto last = room.gone.find(origin);
    if (last != room.gone.end()) {
      if (m->session == last->second.session && m->clock <= last->second.clock) return;  // a stale copy
      room.gone.erase(last);
    }
    room.entries.emplace(origin, PresenceEntry{m->session, m->clock, *m->state, now_ms});
    diff.added.push_back(origin);
    // A newcomer: tell it about us now rather than at the next renewal.
    if (room.has_local && now_ms >= room.last_announce_ms + config_.announce_min_ms) publish(m->doc, room, now_ms);
  }
  emit_change(m->doc, diff);
}

void Presence::expire(const std::string& doc, Room& room, std::uint64_t now_ms) {
  Diff diff;
  const PeerId& self = ctx_->local_id();
  for (auto it = room.entries.begin(); it != room.entries.end();) {
    if (!(it->first == self) && now_ms >= it->second.seen_ms + config_.timeout_ms) {
      forget(room, it->first, it->second, now_ms);
      diff.removed.push_back(it->first);
      it = room.entries.erase(it);
    } else {
      ++it;
    }
  }
  emit_change(doc, diff);
}

// Remembers the last (session, clock) of a peer that left, for a bounded time and number of peers.
void Presence::forget(Room& room, const PeerId& peer, const PresenceEntry& last, std::uint64_t now_ms) {
  for (auto it = room.gone.begin(); it != room.gone.end();) {
    it = now_ms >= it->second.seen_ms + kGoneRememberFactor * config_.timeout_ms ? room.gone.erase(it) : std::next(it);
  }
  if (room.gone.size() >= kPeersMax) return;
  room.gone[peer] = PresenceEntry{last.session, last.clock, {}, now_ms};
}

void Presence::tick(std::uint64_t now_ms) {
  for (auto& [doc, room] : rooms_) {
    expire(doc, room, now_ms);
    if (room.has_local && now_ms >= room.next_renew_ms) publish(doc, room, now_ms);
  }
}

std::optional<std::uint64_t> Presence::next_deadline() const {
  std::optional<std::uint64_t> next;
  auto take = [&](std::uint64_t t) { next = next ? std::min(*next, t) : t; };
  for (const auto& [doc, room] : rooms_) {
    if (room.has_local) take(room.next_renew_ms);
    for (const auto& [peer, e] : room.entries) {
      if (!(peer == ctx_->local_id())) take(e.seen_ms + config_.timeout_ms);
    }
  }
  return next;
}

void Presence::emit_change(const std::string& doc, const Diff& diff) {
  if (diff.added.empty() && diff.updated.empty() && diff.removed.empty()) return;
  ctx_->emit(codec::encode(Value{nitro::Map{{str("type"), str("change")},
                                            {str("doc"), Value{doc}},
                                            {str("added"), id_list(diff.added)},
                                            {str("updated"), id_list(diff.updated)},
                                            {str("removed"), id_list(diff.removed)}}}));
}

}  // namespace nitro
