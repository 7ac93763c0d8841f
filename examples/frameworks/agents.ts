// An OpenAI Agents JS agent with Code Interpreter, through a session: the tool runs in the
// session's container, a run continued from the previous one recovers if the container expired
// in between, and the cited chart is saved to ./out.
// Run: OPENAI_API_KEY=... node examples/frameworks/agents.ts (Node 22.18+; from a folder holding sales.csv)
import { Agent, Runner, setTracingDisabled } from '@openai/agents';
import { CodeInterpreterSession } from 'code-interpreter-session';
import { codeInterpreterTool, fileCitationsOf, sessionModelProvider } from 'code-interpreter-session/agents';

// Only for runs against the offline simulator: there is no trace endpoint to export to.
if (process.env.OPENAI_BASE_URL) setTracingDisabled(true);

const session = new CodeInterpreterSession({ model: 'gpt-5' });
try {
  await session.upload('./sales.csv');
  const runner = new Runner({ modelProvider: sessionModelProvider(session) });
  const agent = new Agent({
    name: 'Analyst',
    model: 'gpt-5',
    instructions: 'Answer with numbers computed from the files in /mnt/data.',
    tools: [codeInterpreterTool(session)],
  });

  const first = await runner.run(agent, 'Total revenue by region in sales.csv, as a chart.');
  console.log(first.finalOutput);
  const second = await runner.run(agent, 'Now total units by product.', { previousResponseId: first.lastResponseId });
  console.log(second.finalOutput);

  for (const citation of fileCitationsOf(second)) console.log(await session.saveFile(citation, './out'));
} finally {
  await session.close();
}
