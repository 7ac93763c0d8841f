// A two-turn Vercel AI SDK conversation with Code Interpreter, through a session: the container is
// the session's (created on first need, re-created with sales.csv if it expires between turns),
// every request is under the session's rate limit, and the cited files are saved to ./out.
// Run: OPENAI_API_KEY=... node examples/frameworks/ai-sdk.ts (Node 22.18+; from a folder holding sales.csv)
import { generateText, type ModelMessage } from 'ai';
import { CodeInterpreterSession } from 'code-interpreter-session';
import { createSessionOpenAI, saveAll, sessionTools } from 'code-interpreter-session/ai-sdk';

const session = new CodeInterpreterSession({ model: 'gpt-5' });
try {
  await session.upload('./sales.csv');
  const openai = createSessionOpenAI(session); // createOpenAI({ fetch: session.fetch }), keyed like the session
  const tools = sessionTools(session); // { code_interpreter } bound to the session's container

  const messages: ModelMessage[] = [{ role: 'user', content: 'Total revenue by region in sales.csv, as a chart.' }];
  const first = await generateText({ model: openai('gpt-5'), tools, messages });
  console.log(first.text);

  messages.push(...first.response.messages, { role: 'user', content: 'Now total units by product.' });
  const second = await generateText({ model: openai('gpt-5'), tools, messages });
  console.log(second.text);
  console.log(await saveAll(session, second, './out')); // the files its `source` parts cite
} finally {
  await session.close();
}
