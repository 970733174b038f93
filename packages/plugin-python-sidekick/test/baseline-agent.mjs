// Runs in a fresh node process that never imports the plugin: the reference for the zero-impact test.
// Prints one JSON line (the observation) on stdout.

import { ScriptedModel, loadElizaOS, startAgent, stopAgent } from './helpers.mjs';
import { observe } from './observe.mjs';

const write = process.stdout.write.bind(process.stdout);
process.stdout.write = (chunk, encoding, cb) => process.stderr.write(chunk, encoding, cb);

await loadElizaOS();
const model = new ScriptedModel();
const agent = await startAgent({ name: 'Plain', plugins: [model.plugin()] });
try {
  const seen = await observe(agent, model);
  write(`${JSON.stringify(seen)}\n`, () => process.exit(0));
} finally {
  await stopAgent(agent);
}
