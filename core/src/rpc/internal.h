// Helpers shared by the RPC engine's translation units (not a public header).
#pragma once

#include "nitro/rpc.h"

namespace nitro::rpc::detail {

inline constexpr std::uint64_t kSeqMask = 0xffffffffull;
inline constexpr std::uint64_t kSessionMask = (1ull << 20) - 1;  // wire ids stay below 2^52: exact in JS

inline bool client_sends_stream(StreamKind k) { return k == StreamKind::kClientStream || k == StreamKind::kBidi; }
inline bool server_sends_stream(StreamKind k) { return k == StreamKind::kServerStream || k == StreamKind::kBidi; }
inline bool receives_stream(bool is_client, StreamKind k) { return is_client ? server_sends_stream(k) : client_sends_stream(k); }
inline bool sends_stream(bool is_client, StreamKind k) { return is_client ? client_sends_stream(k) : server_sends_stream(k); }

// A frame with no body fields (CANCEL) or only dir + seq (STREAM_END, CREDIT, STREAM_MSG).
inline Frame control_frame(FrameType type, std::uint64_t call_id, Dir dir = Dir::kFromClient, std::uint64_t seq = 0) {
  Frame f;
  f.type = type;
  f.call_id = call_id;
  f.dir = dir;
  f.seq = seq;
  return f;
}

inline Event make_event(EventKind kind, CallHandle handle, const PeerKey& peer, StreamKind stream_kind) {
  Event e;
  e.kind = kind;
  e.handle = handle;
  e.peer = peer;
  e.stream_kind = stream_kind;
  return e;
}

}  // namespace nitro::rpc::detail
