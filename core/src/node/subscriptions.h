// Subscriptions of one node: NATS-style subject patterns and queue groups. Deterministic, sans-IO:
// time is an argument, nothing here sends; the node publishes announcements and filters delivery.
//
// Patterns: a topic is '.'-separated tokens; in a pattern the token `*` matches exactly one token
// and a final `>` matches one or more. A pattern without wildcards matches only itself. Topics
// given to publish carry no wildcard tokens.
//
// Queue groups: a subscription (pattern, queue) with a non-empty queue takes part in a group named
// by both. Every member broadcasts the set of groups it belongs to on kQueueTopic every
// announce_ms (and at once when the set changes); a member is known to the others until a newer
// announcement omits the group or member_timeout_ms passes without one. For each message every
// member ranks the members it knows (itself included) by a rendezvous hash of (member, origin,
// topic, seq) and takes the message only if it ranks first.
//
// Guarantee: while the members' views agree (no member joined, left or crashed within
// member_timeout_ms), each message that reaches the group's members is delivered to exactly one
// of them. Across a change a message may be delivered twice (a joiner that does not know the
// others yet) or be missed (it went to a crashed member not yet timed out), during at most
// member_timeout_ms after the change.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "nitro/identity.h"
#include "nitro/status.h"
#include "nitro/value.h"

namespace nitro::pubsub {

inline constexpr const char* kQueueTopic = "nitro.queue";
inline constexpr std::uint64_t kAnnounceMsDefault = 1000;
inline constexpr std::uint64_t kMemberTimeoutMsDefault = 5000;
inline constexpr std::size_t kQueueBytesMax = 64;

// A subscription: its pattern and its queue group ('' for none).
using Key = std::pair<std::string, std::string>;

bool is_wildcard_pattern(const std::string& pattern);
// A valid pattern: non-empty tokens, `>` only as the last token.
bool valid_pattern(const std::string& pattern);
bool matches(const std::string& pattern, const std::string& topic);
// Rendezvous weight of `member` for one message (same on every node: no node-local input).
std::uint64_t rendezvous_weight(const PeerId& member, const PeerId& origin, const std::string& topic,
                                std::uint64_t seq);

class Subscriptions {
 public:
  Subscriptions(PeerId self, std::size_t keys_max, std::uint64_t announce_ms, std::uint64_t member_timeout_ms)
      : self_(self), keys_max_(keys_max), announce_ms_(announce_ms), member_timeout_ms_(member_timeout_ms) {}

  Status add(const std::string& pattern, const std::string& queue);
  Status remove(const std::string& pattern, const std::string& queue);
  bool contains(const std::string& pattern, const std::string& queue) const { return keys_.count({pattern, queue}) != 0; }

  // The subscriptions that take this message on this node, in key order. Wildcard patterns take
  // part only when `wildcards` (the node's protocol topics, such as rpc.ads, only match exactly).
  std::vector<Key> route(const std::string& topic, const PeerId& origin, std::uint64_t seq, std::uint64_t now_ms,
                         bool wildcards = true) const;

  // An announcement from `origin` (kQueueTopic payload). Malformed payloads are ignored (DECODE_ERROR).
  // Groups `admit` refuses are left out: a peer that may not subscribe to a pattern must not be
  // counted as a member, or the others would skip the messages it is chosen for.
  Status on_announce(const PeerId& origin, std::span<const std::uint8_t> payload, std::uint64_t now_ms,
                     const std::function<bool(const Key&)>& admit = {});
  // The payload to publish on kQueueTopic now, when one is due.
  std::optional<Bytes> take_announcement(std::uint64_t now_ms);
  std::optional<std::uint64_t> next_deadline() const;
  // Members of the group (pattern, queue) this node knows now, itself included when subscribed.
  std::vector<PeerId> members(const Key& group, std::uint64_t now_ms) const;

  static Bytes encode_groups(const std::set<Key>& groups);
  static Result<std::set<Key>> decode_groups(std::span<const std::uint8_t> bytes, std::size_t groups_max);

 private:
  std::set<Key> groups() const;
  bool chosen(const Key& group, const PeerId& origin, const std::string& topic, std::uint64_t seq,
              std::uint64_t now_ms) const;

  PeerId self_;
  std::size_t keys_max_;
  std::uint64_t announce_ms_;
  std::uint64_t member_timeout_ms_;
  std::set<Key> keys_;
  // Other members: what each announced last, and when.
  struct Member {
    std::set<Key> groups;
    std::uint64_t heard_ms = 0;
  };
  std::map<PeerId, Member> members_;
  bool announce_now_ = false;
  std::optional<std::uint64_t> next_announce_ms_;
};

}  // namespace nitro::pubsub
