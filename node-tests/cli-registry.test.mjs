// The CLI the way `nats` and `micro` users expect it, by spawning js/dist/cli.js against a running
// `nitro node start`: --version, per-command --help, one address flag (--peer, or $NITRO_PEER),
// `nitro services` and `nitro describe` from the registry, `nitro req` with a content type, and
// the documented exit codes (0 ok, 1 remote error, 2 usage or network, 130 interrupted).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { ChildProcess } from './support/child.mjs';
import { nodeStart } from './support/node-start.mjs';
import { within } from './support/wait.mjs';

const nitro = fileURLToPath(new URL('../js/dist/cli.js', import.meta.url));

function exec(args, env = {}) {
  const child = spawn(process.execPath, [nitro, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const done = new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
  return within(done, 20000, `nitro ${args.join(' ')}`);
}

const lines = (stdout) => stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));

const node = nodeStart();  // `nitro node start --listen 0 --name svc --echo`

test('cli: --version prints the package version; --help and per-command --help exit 0', { concurrency: true }, async (t) => {
  await Promise.all([
    t.test('--version', async () => {
      const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));
      const r = await exec(['--version']);
      assert.equal(r.code, 0);
      assert.equal(r.stdout.trim(), pkg.version);
    }),
    t.test('--help lists the commands, the address rule and the exit codes', async () => {
      const r = await exec(['--help']);
      assert.equal(r.code, 0);
      for (const cmd of ['call', 'req', 'publish', 'subscribe', 'services', 'describe', 'node']) assert.match(r.stderr, new RegExp(`nitro ${cmd} `));
      assert.match(r.stderr, /NITRO_PEER/);
      assert.match(r.stderr, /0 ok, 1 the remote side returned an error, 2 usage or network error, 130 interrupted/);
    }),
    ...['publish', 'subscribe', 'node', 'call', 'req', 'services', 'describe'].map((cmd) => t.test(`${cmd} --help`, async () => {
      const r = await exec([cmd, '--help']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^usage: nitro /);
    })),
    t.test('an unknown command exits 2', async () => {
      const r = await exec(['bogus']);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /unknown command 'bogus'/);
    }),
  ]);
});

test('cli: services and describe read the registry; NITRO_PEER replaces --peer', { concurrency: true }, async (t) => {
  await Promise.all([
    t.test('services lists the node serving svc', async () => {
      const r = await exec(['services', '--peer', node.ready.address]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(lines(r.stdout).find((l) => l.service === 'svc'), { service: 'svc', instances: 1 });
    }),
    t.test('describe gives instances and methods', async () => {
      const r = await exec(['describe', 'svc'], { NITRO_PEER: node.ready.address });
      assert.equal(r.code, 0, r.stderr);
      const [d] = lines(r.stdout);
      assert.equal(d.service, 'svc');
      assert.equal(d.instances.length, 1);
      assert.deepEqual(d.methods, ['Echo.Context', 'Echo.Count', 'Echo.Echo', 'Echo.Sleep', 'Node.Info']);
    }),
    t.test('describe of an unknown service exits 1 with NOT_FOUND', async () => {
      const r = await exec(['describe', 'nobody', '--peer', node.ready.address, '--wait-ms', '2000']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^error: NOT_FOUND: /);
    }),
    t.test('req with --content-type json, the peer from NITRO_PEER', async () => {
      const r = await exec(['req', 'svc', 'Echo.Echo', '{"a":[1,2]}', '--content-type', 'json'], { NITRO_PEER: node.ready.address });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(lines(r.stdout)[0], { a: [1, 2] });
    }),
    t.test('call --show-metadata prints the response header and trailer on stderr', async () => {
      const r = await exec(['call', 'svc', 'Echo.Echo', '{"a":1}', '--show-metadata', '--peer', node.ready.address]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(lines(r.stdout)[0], { a: 1 });
      assert.deepEqual(lines(r.stderr), [{ header: { 'x-nitro-echo': 'Echo.Echo' } }, { trailer: { 'x-nitro-echo': 'done' } }]);
    }),
    t.test('req with an unknown content type exits 2', async () => {
      const r = await exec(['req', 'svc', 'Echo.Echo', '{}', '--content-type', 'xml', '--peer', node.ready.address]);
      assert.equal(r.code, 2);
    }),
    t.test('publish and subscribe take --peer (subscribe with a wildcard and a queue group)', async () => {
      const sub = new ChildProcess('subscribe', nitro, ['subscribe', '--peer', node.ready.address, '--count', '1', '--queue', 'workers', 'news.*']);
      await sub.next((e) => e.event === 'subscribed', 15000, 'subscribed');
      const r = await exec(['publish', '--peer', node.ready.address, 'news.eu', '{"hi":1}']);
      assert.equal(r.code, 0, r.stderr);
      const got = await sub.next((e) => e.event === 'message', 15000, 'message');
      assert.equal(got.topic, 'news.eu');
      assert.deepEqual(got.msg, { hi: 1 });
      assert.equal((await within(sub.exited, 10000, 'subscribe exit')).code, 0);
    }),
    t.test('an interrupted subscribe (SIGINT) exits 130', async () => {
      const sub = new ChildProcess('subscribe', nitro, ['subscribe', '--peer', node.ready.address, 'never']);
      await sub.next((e) => e.event === 'subscribed', 15000, 'subscribed');
      sub.child.kill('SIGINT');
      assert.equal((await within(sub.exited, 10000, 'subscribe exit')).code, 130);
    }),
    t.test('req with --content-type protobuf sends the given bytes and prints the reply bytes', async () => {
      const r = await exec(['req', 'svc', 'Echo.Echo', '{"$bytes":"0a0178"}', '--content-type', 'protobuf', '--peer', node.ready.address]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(lines(r.stdout)[0], { $bytes: '0a0178' });
    }),
  ]);
});
