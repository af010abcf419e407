// The child side of child.mjs's JSON-lines protocol: events out on stdout, commands in on stdin,
// one {"ev":"reply","cmd",...} per command ({"error": code} when it throws).
import { createInterface } from 'node:readline';

/** Writes one event line to stdout. */
export const send = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

/** The default error text of a failed command: the NitroError code alone. */
export const errorCode = (e) => e.code ?? String(e);
/** An error text with the message too ("PERMISSION_DENIED rpc X by …: denied by rule 2 …"). */
export const errorCodeAndMessage = (e) => `${e.code ?? ''} ${e.message ?? e}`;

/**
 * Serves `commands` ({ name: (request) => reply object }) from stdin. After "close" replies, stdin
 * is no longer read: the process must then exit by itself (no process.exit), which is what the
 * tests check — a handle left open shows up as a process that does not exit.
 * options.errorText(error) gives the `error` field of a failed command's reply (default: the code).
 */
export function serveCommands(commands, { errorText = errorCode } = {}) {
  const lines = createInterface({ input: process.stdin });
  lines.on('line', async (line) => {
    const req = JSON.parse(line);
    try {
      send({ ev: 'reply', cmd: req.cmd, ...(await commands[req.cmd](req)) });
    } catch (e) {
      send({ ev: 'reply', cmd: req.cmd, error: errorText(e) });
    }
    if (req.cmd === 'close') lines.close();
  });
}
