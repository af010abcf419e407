// SIGKILL a store writer (fixtures/store-kv-writer.mjs) at arbitrary moments and check that every
// acknowledged step is in the store with its value, and every batch is all there or not at all.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';

const kBatchKeys = 12; // as in the writer
const valueOf = (i) => new TextEncoder().encode(`value-${i}-`.repeat(1 + (i % 7)));
const writer = new URL('../fixtures/store-kv-writer.mjs', import.meta.url).pathname;

/**
 * Runs the writer until it begins its `acks`-th step, then kills it `fraction` of a mean step's
 * duration later (so kills land early, midway and late in a step); resolves the last acknowledged step.
 */
function runUntil(engine, target, acks, fraction) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [writer, engine, target], { stdio: ['ignore', 'pipe', 'inherit'] });
    let buffered = '';
    let last = -1;
    let seen = 0;
    const begins = [];
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop();
      for (const line of lines) {
        if (!line.startsWith('begin ')) {
          last = Number(line);
          continue;
        }
        begins.push(performance.now());
        if (++seen !== acks) continue;
        const recent = begins.slice(-6);
        const meanStepMs = recent.length > 1 ? (recent[recent.length - 1] - recent[0]) / (recent.length - 1) : 0;
        setTimeout(() => child.kill('SIGKILL'), fraction * meanStepMs);
      }
    });
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve(last) : reject(new Error(`writer exited ${code}`))));
  });
}

/** `open()` opens the store the writer wrote; rounds: [acks, fraction of a step] per kill. */
export async function crashRounds(engine, target, open, rounds) {
  let acknowledged = -1;
  for (const [acks, fraction] of rounds) {
    const last = await runUntil(engine, target, acks, fraction);
    assert.ok(last > acknowledged, 'the writer made progress');
    acknowledged = last;
    const store = open();
    // `last` is written by every batch with its b/ keys: a batch is there exactly when `last` covers it.
    const lastBytes = await store.read('last');
    const lastBatch = lastBytes ? Number(new TextDecoder().decode(lastBytes)) : -1;
    for (let i = 0; i <= acknowledged + 8; i++) {
      const keys = i % 2 === 0 ? [`w/${i}`] : Array.from({ length: kBatchKeys }, (_, j) => `b/${i}/${j}`);
      const values = await Promise.all(keys.map((k) => store.read(k)));
      const present = values.filter((v) => v !== undefined).length;
      if (i <= acknowledged) assert.equal(present, keys.length, `step ${i} was acknowledged but is missing`);
      if (i % 2 === 1) assert.equal(present, i <= lastBatch ? kBatchKeys : 0, `batch ${i} is partly there (last batch ${lastBatch}): torn`);
      values.forEach((v, j) => v && assert.deepEqual(v, valueOf(i + j), `value of step ${i}`));
    }
    await store.close();
  }
  return acknowledged;
}
