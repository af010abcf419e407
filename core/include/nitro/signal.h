// nitro::signal — WebRTC signalling through the overlay, as a nitro::Protocol on channel "rtc".
//
// Contract: deterministic and sans-IO like every protocol (no clock, no sockets, no global RNG;
// time is `now_ms`, session ids come from the node's injected entropy). The host owns the
// RTCPeerConnection (browser) or node-datachannel (Node) objects and hands SDP and ICE candidates
// in and out as opaque, validated strings; everything else — relaying, session state, bounds,
// timeouts and the cap on WebRTC connections — lives here, so the simulator and every host run the
// same rules.
//
// Flow (A dials B; R is linked to both; A has no link to B):
//   A: dial(B) -> event "offer"{h, p}      host creates a peer connection and an offer
//   A: local(h, kOffer, sdp)               sent to B: directly if linked, else relayed by R
//   B: event "accept"{h, p, d}             host sets the remote offer, creates an answer
//   B: local(h, kAnswer, sdp)              relayed back; A gets event "answer"{h, d}
//   both: local(h, kCandidate, c, mid) <-> event "candidate"{h, d, m}
//   both: opened(h) when the data channel opens (the host then connects it to the Node as a
//         transport, and the secure link's Noise XX runs on top: a relay can read or alter the
//         SDP, but a tampered session fails the handshake and costs only a timeout).
//   Either side: a session not open within session_timeout_ms is dropped: event "close"{h}; so is
//   an open one when the node loses its last link to the peer (the channel is gone or useless).
//   closed(h) from the host (data channel or peer connection gone) forgets it and tells the peer.
//
// Relaying is one hop: a node linked to the target forwards a signal whose origin is the peer that
// sent it to the relay. A signal for a peer we have no route to goes to at most relay_fanout_max
// linked peers; later signals of the session go back through the relay the peer's came through.
// Every decoder is total and bounded; refused input is counted (SignalStats) and reported as a
// "refused"{c: code, m: message, p: peer} event, at most refusals_reported_per_window_max per window.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "nitro/node.h"

namespace nitro::signal {

inline constexpr const char* kChannel = "rtc";
inline constexpr std::uint8_t kWireVersion = 1;

struct SignalLimits {
  std::size_t sessions_max = 16;              // WebRTC sessions (pending + open) per node: the cap
  std::size_t pending_per_peer_max = 2;       // unanswered sessions with one peer
  std::size_t sdp_bytes_max = 16 * 1024;      // one offer or answer
  std::size_t candidate_bytes_max = 512;      // one ICE candidate line
  std::size_t mid_bytes_max = 32;             // its media id
  std::size_t candidates_per_session_max = 32;// each direction
  std::size_t relay_fanout_max = 4;           // links an unrouted signal is sent through
  std::size_t relays_per_window_max = 256;    // signals forwarded for others per window
  std::size_t signals_per_window_max = 512;   // signals addressed to us accepted per window
  std::size_t refusals_reported_per_window_max = 16;
};

struct SignalTimers {
  std::uint64_t session_timeout_ms = 15000;  // dial or offer -> data channel open
  std::uint64_t window_ms = 1000;            // rate windows of the *_per_window_max limits
};

struct SignalConfig {
  bool webrtc = false;  // this host can make data channels (otherwise: relay only, offers refused)
  SignalLimits limits;
  SignalTimers timers;
};

enum class Kind : std::uint8_t { kOffer = 1, kAnswer = 2, kCandidate = 3, kBye = 4 };

// One signalling frame. `from` is the origin; `hops` is 0 as sent by it, 1 once relayed.
struct Signal {
  Kind kind = Kind::kOffer;
  PeerId to;
  PeerId from;
  std::uint8_t hops = 0;
  std::uint64_t session = 0;  // chosen by the dialing side, unique per (dialer, session)
  std::string text;           // SDP or candidate ("" for kBye)
  std::string mid;            // kCandidate: the media id
};

Bytes encode(const Signal& s);
// Total: any bytes give a Signal that passed the limits below, or a kDecodeError / kInvalidArgument.
Result<Signal> decode(std::span<const std::uint8_t> bytes, const SignalLimits& limits);
// Shape checks of the opaque strings (kInvalidArgument): printable ASCII, bounded, and for SDP the
// lines a data-channel session cannot do without.
Status check_sdp(std::string_view sdp, const SignalLimits& limits);
Status check_candidate(std::string_view candidate, std::string_view mid, const SignalLimits& limits);

struct SignalStats {
  std::uint64_t dialed = 0, accepted = 0, opened = 0, closed = 0, timed_out = 0;
  std::uint64_t signals_sent = 0, signals_received = 0, relayed = 0, relay_unroutable = 0;
  // Refused input, by cause.
  std::uint64_t refused_decode = 0;         // not a signal frame (kDecodeError)
  std::uint64_t refused_invalid = 0;        // malformed SDP / candidate, wrong state (kInvalidArgument)
  std::uint64_t refused_unknown_session = 0;// kNotFound
  std::uint64_t refused_flood = 0;          // over a cap or a rate (kResourceExhausted)
  std::uint64_t refused_forged = 0;         // origin is not the sender, or relayed twice (kPermissionDenied)
  std::uint64_t refused_disabled = 0;       // offer to a node without WebRTC (kUnimplemented)
};

class SignalProtocol final : public Protocol {
 public:
  explicit SignalProtocol(SignalConfig config);

  void attach(ProtocolContext& ctx) override;
  void on_message(const PeerId& from, std::span<const std::uint8_t> bytes, std::uint64_t now_ms) override;
  void on_peer_down(const PeerId& peer, std::uint64_t now_ms) override;
  void tick(std::uint64_t now_ms) override;
  std::optional<std::uint64_t> next_deadline() const override;

  // Host side. Handles are local numbers (1, 2, ...), never reused.
  // kFailedPrecondition without WebRTC, kResourceExhausted at the cap, kInvalidArgument for self.
  Result<std::uint32_t> dial(const PeerId& peer, std::uint64_t now_ms);
  // Our offer, answer or candidate for session `handle` (kNotFound, kInvalidArgument, kUnavailable).
  Status local(std::uint32_t handle, Kind kind, std::string text, std::string mid, std::uint64_t now_ms);
  Status opened(std::uint32_t handle, std::uint64_t now_ms);
  void closed(std::uint32_t handle, std::uint64_t now_ms);
  // Where refused input is reported; `now_ms` is the time of the refusal.
  Status receive(const PeerId& from, std::span<const std::uint8_t> bytes, std::uint64_t now_ms);

  const SignalStats& stats() const { return stats_; }
  std::size_t session_count() const { return sessions_.size(); }
  std::size_t open_count() const;

 private:
  enum class State : std::uint8_t { kLocalOffer, kRemoteAnswer, kLocalAnswer, kConnecting, kOpen };
  struct Session {
    PeerId peer;
    std::uint64_t wire_id = 0;
    bool initiator = false;
    State state = State::kLocalOffer;
    std::uint64_t deadline_ms = 0;
    std::size_t candidates_in = 0, candidates_out = 0;
    std::optional<PeerId> via;  // the relay the peer's signals came through
  };
  using WireKey = std::pair<PeerId, std::uint64_t>;

  Status on_signal(const PeerId& sender, Signal s, std::uint64_t now_ms);
  Status relay(const PeerId& sender, Signal s);
  Status on_offer(const PeerId& via, const Signal& s, std::uint64_t now_ms);
  Status on_session_signal(const PeerId& via, const Signal& s);
  Status route(const Signal& s, const Session* session);
  void send_bye(const PeerId& peer, std::uint64_t wire_id, const Session* session);
  void drop(std::uint32_t handle, bool tell_peer);
  std::size_t pending_with(const PeerId& peer) const;
  bool linked(const PeerId& peer) const;
  bool within(std::size_t& used, std::size_t max, std::uint64_t now_ms);
  void count(const Status& s);
  void report(const Status& s, const PeerId& peer, std::uint64_t now_ms);
  void emit_event(const std::string& type, std::uint32_t handle, const PeerId* peer, const std::string* text,
                  const std::string* mid);

  SignalConfig config_;
  ProtocolContext* ctx_ = nullptr;
  std::map<std::uint32_t, Session> sessions_;
  std::map<WireKey, std::uint32_t> by_wire_;
  std::uint32_t next_handle_ = 1;
  std::uint64_t window_start_ms_ = 0;
  std::size_t relays_in_window_ = 0, signals_in_window_ = 0, reports_in_window_ = 0;
  SignalStats stats_;
};

}  // namespace nitro::signal
