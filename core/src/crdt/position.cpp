// Visible-position lookup for Text and List: walks the item list from the nearest cached marker
// (a known visible item and its position), so edits near recent edits cost O(distance), like
// Yjs's search markers. Markers are kept exact by local edits and dropped on remote changes.
#include <cassert>

#include "crdt/state.h"

namespace nitro::crdt::detail {
namespace {

constexpr std::size_t kMarkersMax = 16;
constexpr std::uint32_t kReuseSteps = 16;  // a walk shorter than this moves the marker it used

std::uint32_t distance(std::uint32_t a, std::uint32_t b) { return a > b ? a - b : b - a; }

void remember(SharedType& t, Marker* used, std::uint32_t item, std::uint32_t pos, std::uint32_t steps) {
  const std::uint32_t stamp = ++t.marker_clock;
  if (used != nullptr && steps < kReuseSteps) {
    *used = Marker{item, pos, stamp};
    return;
  }
  if (t.markers.size() < kMarkersMax) {
    t.markers.push_back(Marker{item, pos, stamp});
    return;
  }
  Marker* oldest = &t.markers[0];
  for (auto& m : t.markers) {
    if (m.used < oldest->used) oldest = &m;
  }
  *oldest = Marker{item, pos, stamp};
}

}  // namespace

Found find_visible(DocState& d, std::uint32_t type, std::uint32_t index) {
  SharedType& t = d.types[type];
  assert(index < t.length);
  Marker* best = nullptr;
  std::uint32_t best_distance = index;  // from the list head
  for (auto& m : t.markers) {
    if (distance(m.pos, index) < best_distance) {
      best = &m;
      best_distance = distance(m.pos, index);
    }
  }
  std::uint32_t it = best ? best->item : t.start;
  std::uint32_t pos = best ? best->pos : 0;
  std::uint32_t steps = 0;
  if (pos <= index) {
    for (;; ++steps) {
      const Item& x = d.items[it];
      if (x.visible()) {
        if (index < pos + x.len) break;
        pos += x.len;
      }
      it = x.right;
      assert(it != kNone);
    }
  } else {
    for (; pos > index; ++steps) {
      it = d.items[it].left;
      assert(it != kNone);
      if (d.items[it].visible()) pos -= d.items[it].len;
    }
  }
  remember(t, best, it, pos, steps);
  return Found{it, pos};
}

void markers_on_insert(SharedType& t, std::uint32_t pos, std::uint32_t n) {
  for (auto& m : t.markers) {
    if (m.pos >= pos) m.pos += n;
  }
}

void markers_on_delete(SharedType& t, std::uint32_t pos, std::uint32_t n) {
  std::erase_if(t.markers, [&](const Marker& m) { return m.pos >= pos && m.pos < pos + n; });
  for (auto& m : t.markers) {
    if (m.pos >= pos + n) m.pos -= n;
  }
}

}  // namespace nitro::crdt::detail
