// `nitro token …` end to end through the real CLI entry (js/dist/cli.js): keygen, issue, delegate,
// inspect (with the chain check and its exit code) and revoke; the outputs are checked with the
// library's own decoders as an independent reader of what the CLI printed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { init, inspectToken, inspectRevocation } from '../js/dist/node.js';

await init();
const cli = new URL('../js/dist/cli.js', import.meta.url).pathname;
const nitro = (...args) => spawnSync(process.execPath, [cli, 'token', ...args], { encoding: 'utf8' });
const out = (...args) => {
  const r = nitro(...args);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
};
const bytes = (b64u) => Uint8Array.from(Buffer.from(b64u, 'base64url'));

test('nitro token issue, delegate, inspect and revoke', () => {
  const root = JSON.parse(out('keygen'));
  const alice = JSON.parse(out('keygen'));
  const bob = JSON.parse(out('keygen'));
  const token = out('issue', '--key', root.seed, '--subject', alice.peerId, '--grant', 'rpc:Greeter.*', '--grant', 'publish:orders.>', '--ttl-ms', '60000');
  const info = inspectToken(bytes(token));
  assert.equal(info.issuer, root.peerId);
  assert.deepEqual(info.grants, [{ op: 'rpc', resource: 'Greeter.*' }, { op: 'publish', resource: 'orders.>' }]);
  const narrow = out('delegate', '--key', alice.seed, '--parent', token, '--subject', bob.peerId, '--grant', 'rpc:Greeter.Hello');
  const verdict = JSON.parse(out('inspect', narrow, '--authority', root.peerId, '--bundle', token));
  assert.equal(verdict.verified.ok, true);
  const wide = out('delegate', '--key', alice.seed, '--parent', token, '--subject', bob.peerId, '--grant', 'rpc:>');
  const refused = nitro('inspect', wide, '--authority', root.peerId, '--bundle', token);
  assert.equal(refused.status, 1);
  assert.match(JSON.parse(refused.stdout).verified.reason, /widens/);
  const record = out('revoke', '--key', alice.seed, narrow);
  const rev = inspectRevocation(bytes(record));
  assert.equal(rev.token, inspectToken(bytes(narrow)).id);
  assert.equal(rev.revoker, alice.peerId);
  assert.equal(nitro('issue', '--key', 'zz', '--subject', bob.peerId, '--grant', 'rpc:x').status, 2);
  assert.equal(nitro('bogus').status, 2);
  execFileSync(process.execPath, [cli, '--help']);
});
