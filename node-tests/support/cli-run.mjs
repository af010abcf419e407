// Runs one command of js/dist/cli/node.js as `nitro` would once the lead registers the groups in
// cli.ts: node cli-run.mjs <node|publish|subscribe> [args...]
const [group, ...argv] = process.argv.slice(2);
const commands = await import('../../js/dist/cli/node.js');
process.exitCode = await commands[`${group}Command`](argv);
