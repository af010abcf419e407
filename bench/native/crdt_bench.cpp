// Native reference for bench/crdt.mjs: replays an editing trace into a crdt::Doc and prints one
// JSON line {trace, replay_ms, encode_ms, load_ms, bytes, items, pack_ms, unpack_ms, cm_pack_ms,
// cm_unpack_ms, cm_bytes} (medians of the given runs). pack/unpack: the coded text column's coder
// (frame 0x15) alone on the final text, the share of encode and load it accounts for; cm_*: the
// context-mixing coder of frame 0x14 (read, no longer written) on the same text, for comparison.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "../../native-tests/crdt_trace.h"
#include "crdt/state.h"
#include "nitro/crdt.h"

namespace {

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string name = argc > 1 ? argv[1] : "automerge-paper";
  const int runs = argc > 2 ? std::atoi(argv[2]) : 5;
  auto trace = nitro::test::load_trace(std::string(NITRO_SHARED_DIR) + "/data/editing-traces/" + name + ".json.gz");
  std::vector<double> replay, encode, load, pack, unpack, cm_pack, cm_unpack;
  std::size_t bytes = 0, items = 0, text_bytes = 0, coded_bytes = 0, cm_bytes = 0;
  bool ok = true;
  for (int r = 0; r < runs; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    nitro::crdt::Doc d(1);
    auto text = d.get_text("text");
    for (const auto& txn : trace.txns) {
      for (const auto& p : txn) {
        if (p.del) ok &= text.erase(p.pos, p.del).ok();
        if (!p.ins.empty()) ok &= text.insert_utf16(p.pos, p.ins).ok();
      }
    }
    replay.push_back(ms_since(t0));
    t0 = std::chrono::steady_clock::now();
    auto state = d.encode_state();
    encode.push_back(ms_since(t0));
    t0 = std::chrono::steady_clock::now();
    nitro::crdt::Doc loaded(2);
    ok &= loaded.apply_update(state).ok();
    load.push_back(ms_since(t0));
    ok &= loaded.get_text("text").to_utf16() == trace.end_content;
    bytes = state.size();
    items = d.item_count();
    const std::string column = d.get_text("text").to_string();
    text_bytes = column.size();
    std::vector<std::uint8_t> coded;
    t0 = std::chrono::steady_clock::now();
    nitro::crdt::detail::huffman_pack_text(column, coded);
    pack.push_back(ms_since(t0));
    std::string back;
    t0 = std::chrono::steady_clock::now();
    ok &= nitro::crdt::detail::huffman_unpack_text(coded, column.size(), back) && back == column;
    unpack.push_back(ms_since(t0));
    coded_bytes = coded.size();
    std::vector<std::uint8_t> packed;
    t0 = std::chrono::steady_clock::now();
    nitro::crdt::detail::pack_text(column, packed);
    cm_pack.push_back(ms_since(t0));
    t0 = std::chrono::steady_clock::now();
    ok &= nitro::crdt::detail::unpack_text(packed, column.size()) == column;
    cm_unpack.push_back(ms_since(t0));
    cm_bytes = packed.size();
  }
  std::printf("{\"trace\":\"%s\",\"ok\":%s,\"replay_ms\":%.3f,\"encode_ms\":%.3f,\"load_ms\":%.3f,\"bytes\":%zu,\"items\":%zu,"
              "\"pack_ms\":%.3f,\"unpack_ms\":%.3f,\"text_bytes\":%zu,\"coded_bytes\":%zu,"
              "\"cm_pack_ms\":%.3f,\"cm_unpack_ms\":%.3f,\"cm_bytes\":%zu}\n",
              name.c_str(), ok ? "true" : "false", median(replay), median(encode), median(load), bytes, items,
              median(pack), median(unpack), text_bytes, coded_bytes, median(cm_pack), median(cm_unpack), cm_bytes);
  return ok ? 0 : 1;
}
