// Any OpenAI client through a session: `fetch: session.fetch` gives it the session's rate limit,
// retries, container and expiry recovery, and changes nothing else it sees.
// Run: OPENAI_API_KEY=... node examples/frameworks/openai-client.ts (Node 22.18+; from a folder holding sales.csv)
import OpenAI from 'openai';
import { CodeInterpreterSession, SESSION_CONTAINER, parseRunResult } from 'code-interpreter-session';

const session = new CodeInterpreterSession({ model: 'gpt-5' });
try {
  await session.upload('./sales.csv');
  // Any client built with the session's fetch; `session.createClient()` makes one keyed like the session.
  const client = new OpenAI({ fetch: session.fetch, maxRetries: 0 });
  const tools = [{ type: 'code_interpreter' as const, container: SESSION_CONTAINER }];

  const first = await client.responses.create({ model: 'gpt-5', tools, input: 'Total revenue by region in sales.csv, as a chart.' });
  console.log(first.output_text);
  // Chained turns keep working when the container expired in between.
  const second = await client.responses.create({ model: 'gpt-5', tools, previous_response_id: first.id, input: 'Now total units by product.' });
  console.log(second.output_text);

  // The library's typed view of a raw response, and its safe downloads.
  const result = parseRunResult(second, { containerId: session.containerId!, recovered: false });
  for (const file of result.files) console.log(await session.saveFile(file, './out'));
} finally {
  await session.close();
}
