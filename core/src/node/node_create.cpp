// Node::create and NodeConfig validation: construction that fails as a value.
#include "nitro/node.h"

namespace nitro {
namespace {

Status positive(std::uint64_t v, const char* field) {
  return v > 0 ? Status::ok_status() : invalid_argument(std::string("node config: ") + field + " must be > 0");
}

Status validate_timers(const NodeTimers& t) {
  NITRO_TRY(positive(t.probe_interval_ms, "timers.probe_interval_ms"));
  NITRO_TRY(positive(t.probe_timeout_ms, "timers.probe_timeout_ms"));
  NITRO_TRY(positive(t.suspicion_timeout_ms, "timers.suspicion_timeout_ms"));
  NITRO_TRY(positive(t.shuffle_interval_ms, "timers.shuffle_interval_ms"));
  NITRO_TRY(positive(t.repair_interval_ms, "timers.repair_interval_ms"));
  NITRO_TRY(positive(t.reconnect_interval_ms, "timers.reconnect_interval_ms"));
  NITRO_TRY(positive(t.neighbor_timeout_ms, "timers.neighbor_timeout_ms"));
  NITRO_TRY(positive(t.handshake_timeout_ms, "timers.handshake_timeout_ms"));
  NITRO_TRY(positive(t.lazy_flush_ms, "timers.lazy_flush_ms"));
  NITRO_TRY(positive(t.mesh_heartbeat_ms, "timers.mesh_heartbeat_ms"));
  return Status::ok_status();
}

Status validate_limits(const NodeLimits& l) {
  NITRO_TRY(positive(l.frame_bytes_max, "limits.frame_bytes_max"));
  NITRO_TRY(positive(l.payload_bytes_max, "limits.payload_bytes_max"));
  if (l.payload_bytes_max > l.frame_bytes_max) return invalid_argument("node config: limits.payload_bytes_max must be <= limits.frame_bytes_max");
  NITRO_TRY(positive(l.topic_bytes_max, "limits.topic_bytes_max"));
  NITRO_TRY(positive(l.transmit_queue_max, "limits.transmit_queue_max"));
  if (l.transmit_queue_high_water > l.transmit_queue_max) {
    return invalid_argument("node config: limits.transmit_queue_high_water must be <= limits.transmit_queue_max");
  }
  NITRO_TRY(positive(l.event_queue_max, "limits.event_queue_max"));
  NITRO_TRY(positive(l.links_max, "limits.links_max"));
  NITRO_TRY(positive(l.message_cache_max, "limits.message_cache_max"));
  NITRO_TRY(positive(l.seen_streams_max, "limits.seen_streams_max"));
  NITRO_TRY(positive(l.topics_max, "limits.topics_max"));
  return Status::ok_status();
}

}  // namespace

Status validate(const NodeConfig& c) {
  NITRO_TRY(positive(c.active_view_max, "active_view_max"));
  NITRO_TRY(positive(c.passive_view_max, "passive_view_max"));
  if (c.mode == BroadcastMode::kMesh && c.mesh_degree < 2) return invalid_argument("node config: mesh_degree must be >= 2");
  if (c.mode != BroadcastMode::kPlumtree && c.mode != BroadcastMode::kFlood && c.mode != BroadcastMode::kMesh) {
    return invalid_argument("node config: mode is not a BroadcastMode");
  }
  NITRO_TRY(validate_timers(c.timers));
  return validate_limits(c.limits);
}

Result<std::unique_ptr<Node>> Node::create(const NodeConfig& config) {
  NITRO_TRY(validate(config));
  return std::make_unique<Node>(config);
}

}  // namespace nitro
