// A private etcd (Debian etcd-server) on free loopback ports in a temporary directory, for the
// sync suites. stop() kills it and removes the directory.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { within } from './support/wait.mjs';

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export async function startEtcd() {
  const dir = mkdtempSync(join(tmpdir(), 'nitro-etcd-'));
  const [client, peer] = [await freePort(), await freePort()];
  const clientUrl = `http://127.0.0.1:${client}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  const child = spawn('etcd', [
    '--name', 'nitro-test', '--data-dir', join(dir, 'data'),
    '--listen-client-urls', clientUrl, '--advertise-client-urls', clientUrl,
    '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl,
    '--initial-cluster', `nitro-test=${peerUrl}`, '--log-level', 'info', '--logger', 'zap',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let log = '';
  const ready = new Promise((resolve, reject) => {
    child.stderr.on('data', (chunk) => {
      log = (log + chunk).slice(-8192);
      if (/ready to serve client requests|serving client traffic/.test(log)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`etcd exited (${code}) before it was ready:\n${log.slice(-2000)}`)));
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await within(ready, 20000, 'etcd to start');
  } catch (e) {
    await stop();
    throw e;
  }
  const signal = (name) => child.kill(name);  // SIGSTOP / SIGCONT: an unreachable backend
  return { endpoints: [clientUrl], stop, signal };
}
