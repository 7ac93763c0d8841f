// A user's own code: a small service function built on the library.
import type { CodeInterpreterSession } from 'code-interpreter-session';

/** Asks for totals of `column` and returns the answer and the saved chart path. */
export async function summarise(session: CodeInterpreterSession, csvPath: string, column: string, outDir: string) {
  await session.upload(csvPath);
  const result = await session.run(`Total ${column} by region, with a chart.`, { toolChoice: 'required' });
  const chart = result.files.find((f) => /\.(svg|png)$/.test(f.filename));
  return { answer: result.text, chartPath: chart ? await session.saveFile(chart, outDir) : undefined };
}
