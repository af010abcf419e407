// One `nitro node start` child process for a CLI suite: started before its tests, stopped after
// them with SIGTERM, which must end it with exit code 0 (a clean shutdown is part of the contract).
//   const node = nodeStart();                // registers node:test before/after hooks
//   test('...', () => node.ready.address);   // the node's "ready" line
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { ChildProcess } from './child.mjs';
import { within } from './wait.mjs';

export const cliRunner = fileURLToPath(new URL('./cli-run.mjs', import.meta.url));
const kDefaultArgs = ['--listen', '0', '--name', 'svc', '--echo'];

/** Starts `nitro node start <args>` before the suite's tests; `ready` is its ready event. */
export function nodeStart(args = kDefaultArgs) {
  const node = { server: undefined, ready: undefined };
  before(async () => {
    node.server = new ChildProcess('node start', cliRunner, ['node', 'start', ...args]);
    node.ready = await node.server.next((e) => e.event === 'ready', 15000, 'ready');
  });
  after(async () => {
    node.server.child.kill('SIGTERM');
    assert.equal((await within(node.server.exited, 10000, 'node exit')).code, 0);
  });
  return node;
}
