// SIGKILL a store writer (fixtures/store-kv-writer.mjs) at arbitrary moments and check that every
// acknowledged step is in the store with its value, and every batch is all there or not at all.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';

const valueOf = (i) => new TextEncoder().encode(`value-${i}-`.repeat(1 + (i % 7)));
const writer = new URL('../fixtures/store-kv-writer.mjs', import.meta.url).pathname;

/** Runs the writer until it has acknowledged `acks` steps, then kills it; resolves the last one. */
function runUntil(engine, target, acks, delayMs) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [writer, engine, target], { stdio: ['ignore', 'pipe', 'inherit'] });
    let buffered = '';
    let last = -1;
    let seen = 0;
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop();
      for (const line of lines) {
        last = Number(line);
        // The kill lands while later steps are in flight (after 0 or a few ms of more writing).
        if (++seen === acks) setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    });
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve(last) : reject(new Error(`writer exited ${code}`))));
  });
}

/** `open()` opens the store the writer wrote; rounds: [acks, delayMs] per kill. */
export async function crashRounds(engine, target, open, rounds) {
  let acknowledged = -1;
  for (const [acks, delayMs] of rounds) {
    const last = await runUntil(engine, target, acks, delayMs);
    assert.ok(last > acknowledged, 'the writer made progress');
    acknowledged = last;
    const store = open();
    for (let i = 0; i <= acknowledged + 8; i++) {
      const keys = i % 2 === 0 ? [`w/${i}`] : [0, 1, 2].map((j) => `b/${i}/${j}`);
      const values = await Promise.all(keys.map((k) => store.read(k)));
      const present = values.filter((v) => v !== undefined).length;
      if (i <= acknowledged) assert.equal(present, keys.length, `step ${i} was acknowledged but is missing`);
      assert.ok(present === 0 || present === keys.length, `step ${i} is partly there: a torn batch`);
      values.forEach((v, j) => v && assert.deepEqual(v, valueOf(i + j), `value of step ${i}`));
    }
    await store.close();
  }
  return acknowledged;
}
