// The deterministic simulator from JS: N real nodes (secure links, membership, gossip) on a virtual
// clock and a faulty network, all derived from one seed. Used by the web demo's live network view
// and handy for experiments; protocol tests run it natively (native-tests/). It ships in the lazily
// loaded nitro-bls.wasm (pages that do not simulate do not download it): Node's entry loads that
// at init(), browsers and workers call loadBls() first.
import { NitroError, unwrap } from './errors.js';
import { blsUsable, getModule } from './wasm.js';

export interface SimulationOptions {
  seed?: number;          // one seed derives the whole run (default 1)
  nodes?: number;         // 1..5000 (default 16)
  dropRate?: number;      // 0..1 per frame
  duplicateRate?: number;
  reorderRate?: number;
  delayMinMs?: number;
  delayMaxMs?: number;
  mode?: 'plumtree' | 'flood' | 'mesh';
  swarm?: boolean;        // derive fault rates from the seed (swarm testing)
}

export interface SimDelivery { node: number; origin: string; topic: string; seq: number; hops: number; atMs: number }

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type SimCore = Record<string, any>;

export class Simulation {
  readonly #core: SimCore;

  /** In browsers and workers, `await loadBls()` first: the simulator ships in nitro-bls.wasm. */
  constructor(options: SimulationOptions = {}) {
    const m = getModule();
    if (!blsUsable()) {
      throw new NitroError('FAILED_PRECONDITION', 'the simulator is in nitro-bls.wasm: call `await loadBls()` (or `init({ bls: true })`) first');
    }
    this.#core = unwrap<SimCore>(m.simCreate(options));
  }

  get size(): number { return this.#core.size(); }
  get nowMs(): number { return this.#core.nowMs(); }
  runFor(ms: number): void { this.#core.runFor(ms); }
  runUntil(ms: number): void { this.#core.runUntil(ms); }
  alive(i: number): boolean { return this.#core.alive(i); }
  crash(i: number): void { this.#core.crash(i); }
  restart(i: number): void { this.#core.restart(i); }
  /** Cuts `side` from the rest (symmetric: both directions). */
  partition(side: number[], symmetric = true): void { this.#core.partition(side, symmetric); }
  heal(): void { this.#core.heal(); }
  setDropRate(p: number): void { unwrap(this.#core.setDropRate(p)); }
  subscribe(i: number, topic: string): void { unwrap(this.#core.subscribe(i, topic)); }
  publish(i: number, topic: string, payload: Uint8Array): number { return unwrap<number>(this.#core.publish(i, topic, payload)); }
  nodeId(i: number): string { return this.#core.nodeId(i); }
  /** Active-view neighbors of node i, as node indices. */
  neighbors(i: number): number[] { return this.#core.neighbors(i); }
  /** Deliveries since the previous call. */
  takeDeliveries(): SimDelivery[] { return this.#core.takeDeliveries(); }
  converged(): boolean { return this.#core.converged(); }
  stats(): Record<string, number> { return this.#core.stats(); }
  describe(): string { return this.#core.describe(); }
  dispose(): void { this.#core.delete(); }
}
