// The child side of child.mjs's JSON-lines protocol: events out on stdout, commands in on stdin,
// one {"ev":"reply","cmd",...} per command ({"error": code} when it throws).
import { createInterface } from 'node:readline';

/** Writes one event line to stdout. */
export const send = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

/**
 * Serves `commands` ({ name: (request) => reply object }) from stdin. After "close" replies, stdin
 * is no longer read: the process must then exit by itself (no process.exit), which is what the
 * tests check — a handle left open shows up as a process that does not exit.
 */
export function serveCommands(commands) {
  const lines = createInterface({ input: process.stdin });
  lines.on('line', async (line) => {
    const req = JSON.parse(line);
    try {
      send({ ev: 'reply', cmd: req.cmd, ...(await commands[req.cmd](req)) });
    } catch (e) {
      send({ ev: 'reply', cmd: req.cmd, error: e.code ?? String(e) });
    }
    if (req.cmd === 'close') lines.close();
  });
}
