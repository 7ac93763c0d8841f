// Starts the example backend:  npm run example:express            (talks to OpenAI: OPENAI_API_KEY)
//                             npm run example:express -- --offline (the built-in simulator: simulated answers)
import OpenAI from 'openai';
import { createSimulator } from 'code-interpreter-session/testing';
import { createApp } from './app.ts';

let client: OpenAI;
if (process.argv.includes('--offline')) {
  const simulator = await createSimulator().listen();
  console.log(`--offline: answers come from the built-in simulator at ${simulator.url} (simulated, not from a model)`);
  client = new OpenAI({ apiKey: 'sk-offline', baseURL: simulator.url });
} else if (process.env.OPENAI_API_KEY) {
  client = new OpenAI();
} else {
  console.error('OPENAI_API_KEY is not set: set it to use the API, or run `npm run example:express -- --offline` for the simulator.');
  process.exit(2);
}
const { app, close } = createApp({ client, model: process.env.OPENAI_MODEL ?? 'gpt-5' });
const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  const { port } = server.address() as import('node:net').AddressInfo; // PORT=0: a free port
  console.log(`listening on http://127.0.0.1:${port}`);
  console.log(`try: curl -H 'x-user-id: alice' -F prompt='Total revenue by region' -F file=@examples/data/sales.csv http://127.0.0.1:${port}/analyze`);
});

// On shutdown, stop taking requests, then close every session: each user's container and uploaded
// files are deleted instead of being left to bill until they expire.
process.once('SIGTERM', () => {
  server.close();
  close().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error('closing the sessions:', error);
      process.exit(1);
    },
  );
});
