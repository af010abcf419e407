// Native chain throughput: 4 validators (nitro::Node + ConsensusProtocol, secure links) in one
// process on the simulator with 1 ms links. Clients submit `txs` kv.put txs (value `bytes` long)
// spread over the 4 nodes, `batch` per virtual millisecond; the run ends when node 0 committed
// them all. Prints one JSON line: committed tx/s over wall time (the CPU cost of everything:
// signing, links, BLS, execution, Merkle root), and p50/p99 commit latency in virtual ms
// (submission to commit on node 0, txs taken FIFO: each node's own txs commit in order).
#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <string>
#include <vector>

#include "nitro/consensus.h"
#include "nitro/sim.h"

using namespace nitro;

int main(int argc, char** argv) {
  std::size_t txs = 20000, batch = 40, bytes = 64;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const std::size_t v = std::strtoull(argv[i + 1], nullptr, 10);
    if (k == "--txs") txs = v; else if (k == "--batch") batch = v; else if (k == "--bytes") bytes = v;
  }
  sim::SimConfig c;
  c.seed = 7;
  c.nodes = 4;
  c.delay_min_ms = 1;
  c.delay_max_ms = 1;
  c.jitter_ms = 0;
  c.start_spread_ms = 100;
  sim::Simulator s(c);
  std::vector<consensus::Validator> vs;
  std::vector<bls::SecretKey> sks;
  for (std::size_t i = 0; i < 4; ++i) {
    sks.push_back(*bls::key_gen(Bytes(32, static_cast<std::uint8_t>(i + 1))));
    vs.push_back({s.node(i)->id(), bls::sk_to_pk(sks[i], bls::Group::kG2), consensus::bls_pop(sks[i])});
  }
  std::vector<consensus::ConsensusProtocol*> chains;
  for (std::size_t i = 0; i < 4; ++i) {
    consensus::ConsensusConfig cfg;
    cfg.validators = vs;
    cfg.bls_sk = sks[i];
    cfg.identity_seed = s.node(i)->config().identity_seed;
    cfg.start_ms = 1000;
    cfg.empty_block_ms = 5;
    auto p = consensus::ConsensusProtocol::create(cfg, s.node(i)->id());
    if (!p.ok()) return 1;
    chains.push_back(p->get());
    if (!s.node(i)->add_protocol(consensus::kDefaultChannel, std::move(*p)).ok()) return 1;
  }
  s.run_until(1500);
  const std::string value(bytes, 'v');
  std::deque<std::uint64_t> submitted_at;  // FIFO of submission times (virtual ms)
  std::vector<double> latency;
  std::size_t sent = 0, seen = 0;
  std::uint64_t height = chains[0]->committed_height();
  const auto t0 = std::chrono::steady_clock::now();
  const std::clock_t c0 = std::clock();  // CPU time too: on a shared, loaded machine wall time mostly measures the others
  while (seen < txs && s.now_ms() < 600000) {
    for (std::size_t k = 0; k < batch && sent < txs; ++k, ++sent) {
      const std::size_t i = sent % 4;
      const Value args(Map{{Value("key"), Value("k" + std::to_string(sent % 1000))}, {Value("value"), Value(value)}});
      s.with_node(i, [&](Node&) {
        if (chains[i]->submit("kv.put", args, s.now_ms()).ok()) submitted_at.push_back(s.now_ms());
      });
    }
    s.run_for(1);
    for (std::uint64_t h = height + 1; h <= chains[0]->committed_height(); ++h) {
      auto b = chains[0]->committed(h);
      for (std::size_t t = 0; b && t < b->txs && !submitted_at.empty(); ++t) {
        latency.push_back(static_cast<double>(s.now_ms() - submitted_at.front()));
        submitted_at.pop_front();
        ++seen;
      }
    }
    height = chains[0]->committed_height();
    while (!s.node(0)) return 1;
  }
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu_s = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
  std::sort(latency.begin(), latency.end());
  auto pct = [&](double p) { return latency.empty() ? 0.0 : latency[std::min(latency.size() - 1, static_cast<std::size_t>(p * latency.size()))]; };
  std::printf("{\"txs\":%zu,\"committed\":%zu,\"wall_s\":%.3f,\"cpu_s\":%.3f,\"tx_per_cpu_s\":%.0f,\"tx_per_s\":%.0f,\"p50_ms\":%.1f,\"p99_ms\":%.1f,\"height\":%llu,\"virtual_ms\":%llu}\n",
              txs, seen, wall_s, cpu_s, seen / cpu_s, seen / wall_s, pct(0.5), pct(0.99), static_cast<unsigned long long>(height),
              static_cast<unsigned long long>(s.now_ms() - 1500));
  return 0;
}
