// Starts the example backend. With OPENAI_API_KEY set it talks to OpenAI; without it, to the
// built-in simulator.  node examples/express-backend/server.ts   (after npm run build)
import OpenAI from 'openai';
import { createSimulator } from 'code-interpreter-session/testing';
import { createApp } from './app.ts';

let client: OpenAI;
if (process.env.OPENAI_API_KEY) {
  client = new OpenAI();
} else {
  const simulator = await createSimulator().listen();
  console.log(`OPENAI_API_KEY is not set: using the simulator at ${simulator.url}`);
  client = new OpenAI({ apiKey: 'sk-offline', baseURL: simulator.url });
}
const { app } = createApp({ client, model: process.env.OPENAI_MODEL ?? 'gpt-5' });
const port = Number(process.env.PORT ?? 3000);
app.listen(port, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${port}`);
  console.log(`try: curl -H 'x-user-id: alice' -F prompt='Total revenue by region' -F file=@examples/data/sales.csv http://127.0.0.1:${port}/analyze`);
});
