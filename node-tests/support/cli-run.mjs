// Runs one command of js/dist/cli/*.js as `nitro` does, without the dispatcher:
// node cli-run.mjs <node|publish|subscribe|call> [args...]
const [group, ...argv] = process.argv.slice(2);
const commands = await import(group === 'call' ? '../../js/dist/cli/call.js' : '../../js/dist/cli/node.js');
process.exitCode = await commands[`${group}Command`](argv);
