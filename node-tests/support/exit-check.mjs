// Preloaded into every node:test file by scripts/test (--import): once a file's tests and hooks
// are done, its process must exit by itself. One still running kExitGraceMs later has left
// something open (a socket, a timer, a child process, a server); this names what and fails the
// file instead of letting the run hang.
import { after } from 'node:test';

const kExitGraceMs = 30000;  // longer than any after() hook of a file takes

function describe(handle) {
  const name = handle?.constructor?.name ?? typeof handle;
  if (name === 'Socket' || name === 'TCP') return `${name} ${handle.remoteAddress ?? ''}:${handle.remotePort ?? handle.localPort ?? ''}`;
  if (name === 'Server') return `Server ${JSON.stringify(handle.address?.())}`;
  if (name === 'ChildProcess') return `ChildProcess pid ${handle.pid} (${handle.spawnargs?.slice(0, 3).join(' ')})`;
  return name;
}

after(() => {
  setTimeout(() => {
    // eslint-disable-next-line no-underscore-dangle
    const handles = process._getActiveHandles().filter((h) => h !== process.stdout && h !== process.stderr && h !== process.stdin);
    process.stderr.write(`exit-check: ${process.argv[1]} is still running ${kExitGraceMs} ms after its tests; open: ` +
      `${process.getActiveResourcesInfo().join(', ')}\n${handles.map((h) => `  ${describe(h)}\n`).join('')}`);
    process.exit(1);
  }, kExitGraceMs).unref();
});
