// Native reference for bench/crdt.mjs: replays an editing trace into a crdt::Doc and prints one
// JSON line {trace, replay_ms, encode_ms, load_ms, bytes, items, pack_ms, unpack_ms, cm_pack_ms,
// cm_unpack_ms, cm_bytes} (medians of the given runs, in CPU time). pack/unpack: the coded text
// column's coder (frame 0x15) alone on the final text, the share of encode and load it accounts for; cm_*: the
// context-mixing coder of frame 0x14 (read, no longer written) on the same text, for comparison.
//   crdt_bench [trace name | path to a .json.gz trace] [runs] [encode/load calls per run]
#include <algorithm>
#include <ctime>
#include <cstdio>
#include <string>
#include <vector>

#include "../../native-tests/crdt_trace.h"
#include "crdt/state.h"
#include "nitro/crdt.h"

namespace {

// CPU time of this process: on a shared machine wall time counts other processes' turns too.
double cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
}
double ms_since(double t0) { return cpu_ms() - t0; }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string name = argc > 1 ? argv[1] : "automerge-paper";
  const int runs = argc > 2 ? std::atoi(argv[2]) : 5;
  // Small documents encode and load in microseconds: repeat each call to time it (and profile it).
  const int reps = argc > 3 ? std::max(1, std::atoi(argv[3])) : 1;
  // A name with a '/' is a trace file of its own (e.g. a code trace bench/crdt_traces.mjs made).
  const std::string path = name.find('/') != std::string::npos
                               ? name
                               : std::string(NITRO_SHARED_DIR) + "/data/editing-traces/" + name + ".json.gz";
  auto trace = nitro::test::load_trace(path);
  std::vector<double> replay, encode, load, pack, unpack, cm_pack, cm_unpack;
  std::size_t bytes = 0, items = 0, text_bytes = 0, coded_bytes = 0, cm_bytes = 0;
  bool ok = true;
  for (int r = 0; r < runs; ++r) {
    auto t0 = cpu_ms();
    nitro::crdt::Doc d(1);
    auto text = d.get_text("text");
    for (const auto& txn : trace.txns) {
      for (const auto& p : txn) {
        if (p.del) ok &= text.erase(p.pos, p.del).ok();
        if (!p.ins.empty()) ok &= text.insert_utf16(p.pos, p.ins).ok();
      }
    }
    replay.push_back(ms_since(t0));
    t0 = cpu_ms();
    std::vector<std::uint8_t> state;
    for (int k = 0; k < reps; ++k) state = d.encode_state();
    encode.push_back(ms_since(t0) / reps);
    t0 = cpu_ms();
    for (int k = 1; k < reps; ++k) ok &= nitro::crdt::Doc(2).apply_update(state).ok();
    nitro::crdt::Doc loaded(2);
    ok &= loaded.apply_update(state).ok();
    load.push_back(ms_since(t0) / reps);
    ok &= loaded.get_text("text").to_utf16() == trace.end_content;
    bytes = state.size();
    items = d.item_count();
    const std::string column = d.get_text("text").to_string();
    text_bytes = column.size();
    std::vector<std::uint8_t> coded;
    t0 = cpu_ms();
    for (int k = 0; k < reps; ++k) {
      coded.clear();
      nitro::crdt::detail::huffman_pack_text(column, coded);
    }
    pack.push_back(ms_since(t0) / reps);
    std::string back;
    t0 = cpu_ms();
    for (int k = 0; k < reps; ++k) ok &= nitro::crdt::detail::huffman_unpack_text(coded, column.size(), back);
    unpack.push_back(ms_since(t0) / reps);
    ok &= back == column;
    coded_bytes = coded.size();
    std::vector<std::uint8_t> packed;
    t0 = cpu_ms();
    nitro::crdt::detail::pack_text(column, packed);
    cm_pack.push_back(ms_since(t0));
    t0 = cpu_ms();
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
