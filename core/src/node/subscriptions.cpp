// Subscriptions: NATS-style patterns and queue groups (see subscriptions.h for the guarantee).
#include "node/subscriptions.h"

#include <algorithm>

#include "nitro/assert.h"

namespace nitro::pubsub {
namespace {

// Other members remembered at most; announcements from more are ignored (bounded state).
constexpr std::size_t kMembersMax = 4096;

std::vector<std::string_view> tokens(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t dot = s.find('.', start);
    if (dot == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, dot - start));
    start = dot + 1;
  }
}

std::uint64_t mix(std::uint64_t z) {  // splitmix64's finalizer
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::uint64_t fnv(std::uint64_t h, std::span<const std::uint8_t> bytes) {
  for (std::uint8_t b : bytes) h = (h ^ b) * 0x100000001b3ULL;
  return h;
}

void put_str(Bytes& out, const std::string& s) {
  NITRO_ASSERT(s.size() <= 0xFFFF);
  out.push_back(static_cast<std::uint8_t>(s.size() >> 8));
  out.push_back(static_cast<std::uint8_t>(s.size() & 0xFF));
  out.insert(out.end(), s.begin(), s.end());
}

bool get_str(std::span<const std::uint8_t> in, std::size_t& at, std::string& s) {
  if (in.size() - at < 2) return false;
  const std::size_t n = (std::size_t{in[at]} << 8) | in[at + 1];
  at += 2;
  if (in.size() - at < n) return false;
  s.assign(in.begin() + static_cast<std::ptrdiff_t>(at), in.begin() + static_cast<std::ptrdiff_t>(at + n));
  at += n;
  return true;
}

}  // namespace

bool is_wildcard_pattern(const std::string& pattern) {
  for (auto t : tokens(pattern)) {
    if (t == "*" || t == ">") return true;
  }
  return false;
}

bool valid_pattern(const std::string& pattern) {
  if (pattern.empty()) return false;
  const auto ts = tokens(pattern);
  for (std::size_t i = 0; i < ts.size(); i++) {
    if (ts[i].empty()) return false;
    if (ts[i] == ">" && i + 1 != ts.size()) return false;
  }
  return true;
}

bool matches(const std::string& pattern, const std::string& topic) {
  if (!is_wildcard_pattern(pattern)) return pattern == topic;
  const auto ps = tokens(pattern);
  const auto ts = tokens(topic);
  for (std::size_t i = 0; i < ps.size(); i++) {
    if (ps[i] == ">") return ts.size() > i;  // one or more tokens left
    if (i >= ts.size() || ts[i].empty()) return false;
    if (ps[i] != "*" && ps[i] != ts[i]) return false;
  }
  return ps.size() == ts.size();
}

std::uint64_t rendezvous_weight(const PeerId& member, const PeerId& origin, const std::string& topic,
                                std::uint64_t seq) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  h = fnv(h, member.bytes());
  h = fnv(h, origin.bytes());
  h = fnv(h, std::span(reinterpret_cast<const std::uint8_t*>(topic.data()), topic.size()));
  return mix(h ^ mix(seq));
}

Status Subscriptions::add(const std::string& pattern, const std::string& queue) {
  if (!valid_pattern(pattern)) return invalid_argument("bad subscription pattern: empty token, or '>' not last");
  if (queue.size() > kQueueBytesMax) return invalid_argument("queue group name above 64 bytes");
  if (keys_.count({pattern, queue}) != 0) return Status::ok_status();
  if (keys_.size() >= keys_max_) return resource_exhausted("too many subscriptions");
  keys_.insert({pattern, queue});
  if (!queue.empty()) announce_now_ = true;
  return Status::ok_status();
}

Status Subscriptions::remove(const std::string& pattern, const std::string& queue) {
  if (keys_.erase({pattern, queue}) == 0) return not_found("not subscribed to " + pattern);
  if (!queue.empty()) announce_now_ = true;  // others stop counting us at once
  return Status::ok_status();
}

std::set<Key> Subscriptions::groups() const {
  std::set<Key> out;
  for (const auto& k : keys_) {
    if (!k.second.empty()) out.insert(k);
  }
  return out;
}

std::vector<PeerId> Subscriptions::members(const Key& group, std::uint64_t now_ms) const {
  std::vector<PeerId> out;
  if (keys_.count(group) != 0) out.push_back(self_);
  for (const auto& [peer, m] : members_) {
    if (m.heard_ms + member_timeout_ms_ >= now_ms && m.groups.count(group) != 0) out.push_back(peer);
  }
  return out;
}

bool Subscriptions::chosen(const Key& group, const PeerId& origin, const std::string& topic, std::uint64_t seq,
                           std::uint64_t now_ms) const {
  const std::uint64_t mine = rendezvous_weight(self_, origin, topic, seq);
  for (const auto& [peer, m] : members_) {
    if (m.heard_ms + member_timeout_ms_ < now_ms || m.groups.count(group) == 0) continue;
    const std::uint64_t theirs = rendezvous_weight(peer, origin, topic, seq);
    if (theirs > mine || (theirs == mine && peer < self_)) return false;
  }
  return true;
}

std::vector<Key> Subscriptions::route(const std::string& topic, const PeerId& origin, std::uint64_t seq,
                                      std::uint64_t now_ms, bool wildcards) const {
  std::vector<Key> out;
  for (const auto& key : keys_) {
    if (!matches(key.first, topic) || (!wildcards && is_wildcard_pattern(key.first))) continue;
    if (!key.second.empty() && !chosen(key, origin, topic, seq, now_ms)) continue;
    out.push_back(key);
  }
  return out;
}

Status Subscriptions::on_announce(const PeerId& origin, std::span<const std::uint8_t> payload, std::uint64_t now_ms,
                                  const std::function<bool(const Key&)>& admit) {
  if (origin == self_) return Status::ok_status();
  auto groups = decode_groups(payload, keys_max_);
  if (!groups.ok()) return groups.status();
  if (admit) std::erase_if(groups.value(), [&](const Key& k) { return !admit(k); });
  auto it = members_.find(origin);
  if (it == members_.end()) {
    if (groups.value().empty()) return Status::ok_status();
    if (members_.size() >= kMembersMax) return resource_exhausted("too many queue group members");
    it = members_.emplace(origin, Member{}).first;
  }
  if (groups.value().empty()) {
    members_.erase(it);  // it left every group
    return Status::ok_status();
  }
  it->second.groups = std::move(groups.value());
  it->second.heard_ms = now_ms;
  return Status::ok_status();
}

std::optional<Bytes> Subscriptions::take_announcement(std::uint64_t now_ms) {
  std::erase_if(members_, [&](const auto& kv) { return kv.second.heard_ms + member_timeout_ms_ < now_ms; });
  const bool member = !groups().empty();
  const bool due = next_announce_ms_ && now_ms >= *next_announce_ms_;
  if (!announce_now_ && !due) return std::nullopt;
  const bool left = announce_now_ && !member;  // one empty announcement after leaving every group
  announce_now_ = false;
  next_announce_ms_ = member ? std::optional(now_ms + announce_ms_) : std::nullopt;
  if (!member && !left) return std::nullopt;
  return encode_groups(groups());
}

std::optional<std::uint64_t> Subscriptions::next_deadline() const {
  if (announce_now_) return 0;
  return next_announce_ms_;
}

Bytes Subscriptions::encode_groups(const std::set<Key>& groups) {
  Bytes out;
  out.push_back(1);  // format version
  NITRO_ASSERT(groups.size() <= 0xFFFF);
  out.push_back(static_cast<std::uint8_t>(groups.size() >> 8));
  out.push_back(static_cast<std::uint8_t>(groups.size() & 0xFF));
  for (const auto& [pattern, queue] : groups) {
    put_str(out, pattern);
    put_str(out, queue);
  }
  return out;
}

Result<std::set<Key>> Subscriptions::decode_groups(std::span<const std::uint8_t> bytes, std::size_t groups_max) {
  if (bytes.size() < 3 || bytes[0] != 1) return Status(decode_error("queue announcement: bad header"));
  const std::size_t n = (std::size_t{bytes[1]} << 8) | bytes[2];
  if (n > groups_max) return Status(decode_error("queue announcement: too many groups"));
  std::set<Key> out;
  std::size_t at = 3;
  for (std::size_t i = 0; i < n; i++) {
    Key k;
    if (!get_str(bytes, at, k.first) || !get_str(bytes, at, k.second)) return Status(decode_error("queue announcement: truncated"));
    if (!valid_pattern(k.first) || k.second.empty() || k.second.size() > kQueueBytesMax) {
      return Status(decode_error("queue announcement: bad group"));
    }
    out.insert(std::move(k));
  }
  if (at != bytes.size()) return Status(decode_error("queue announcement: trailing bytes"));
  return out;
}

}  // namespace nitro::pubsub
