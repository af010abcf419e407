// A nats-server (Debian package) for a test, on a free loopback port; stop() ends it, restart()
// stops it and starts a fresh one on the same port (subscriptions exist only in clients then).
import { spawn, execFileSync } from 'node:child_process';
import { freePort } from './postgres.mjs';

/** Why nats-server cannot run here, or undefined when it can. */
export function natsMissing() {
  try {
    execFileSync('nats-server', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'nats-server is not installed (scripts/setup installs Debian nats-server)';
  }
}

function launch(port) {
  const child = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const ready = new Promise((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => reject(new Error(`nats-server did not start:\n${log}`)), 15000);
    child.stderr.on('data', (chunk) => {
      log += chunk;
      if (log.includes('Server is ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited:\n${log}`));
    });
  });
  return { child, exited, ready };
}

export async function startNats() {
  const port = await freePort();
  let server = launch(port);
  await server.ready;
  const stop = async () => {
    if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGTERM');
    await server.exited;
  };
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    stop,
    /** Stops the server, runs `whileDown` (awaited) and starts a new one on the same port. */
    async restart(whileDown = async () => {}) {
      await stop();
      await whileDown();
      server = launch(port);
      await server.ready;
    },
  };
}
