import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import OpenAI from 'openai';
import { CodeInterpreterSession } from '../session.js';
import { describeError } from '../errors.js';
import { uploadFilenameProblem } from '../files/filename.js';
import type { CostSummary } from '../cost/types.js';
import type { RunResult } from '../runs/result.js';
import { cliErrorMessage, UsageError } from './messages.js';
import { startOfflineServer } from './offline.js';
import { progressBar } from './progress.js';
import { msFlag, portFlag, rateLimitFlag, simulateCommand, type SimulateFlags } from './simulate.js';

/** Where the CLI writes; tests pass their own. */
export interface CliIO {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

/** Exit codes: 0 the run succeeded, 1 it failed, 2 the command line was wrong. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

interface RunFlags {
  file: string[];
  out: string;
  model: string;
  memory?: '1g' | '4g' | '16g' | '64g';
  offline?: boolean;
  json?: boolean;
  instructions?: string;
  overwrite?: boolean;
  retries: number;
}

/** What the offline answers are, said in the output itself (not only on stderr). */
export const SIMULATED_NOTE = 'offline: simulated answer from the built-in simulator, not from a model';

const collect = (value: string, previous: string[]) => [...previous, value];

function retriesFlag(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 10) throw new InvalidArgumentError('give a whole number from 0 to 10');
  return n;
}

/** Every `--file` is a readable regular file, checked before anything is sent. */
async function checkFiles(paths: readonly string[]): Promise<void> {
  for (const path of paths) {
    const info = await stat(path).catch(() => undefined);
    if (!info) throw new UsageError(`--file ${path}: no such file; give the path of a file to upload.`);
    if (!info.isFile()) throw new UsageError(`--file ${path}: not a regular file; give the path of a file to upload.`);
    const problem = uploadFilenameProblem(basename(path));
    if (problem) throw new UsageError(`--file ${JSON.stringify(path)}: the file's name ${problem}, so it cannot be uploaded under it; copy or rename the file.`);
  }
}

/** One line on what the run's containers cost (an estimate: billed per minute, 5 minutes at least). */
function costLine(cost: CostSummary): string {
  const tiers = Object.keys(cost.byTier).join(', ') || 'none';
  return `Container cost: about $${cost.estimatedUsd.toFixed(4)} (${cost.containersCreated} container${cost.containersCreated === 1 ? '' : 's'}, ${tiers}, ${cost.billedMinutes} billed minutes; an estimate at list prices)`;
}

function printHuman(result: RunResult, saved: string[], offline: boolean, cost: CostSummary, out: NodeJS.WriteStream): void {
  const lines: string[] = offline ? [`Answer (${SIMULATED_NOTE}):`, result.text, ''] : ['Answer:', result.text, ''];
  result.codeCalls.forEach((call, i) => {
    lines.push(`Code (call ${i + 1} of ${result.codeCalls.length}, ${call.status}):`, call.code ?? '(no code)', '');
    if (call.logs) lines.push('Logs:', call.logs.trimEnd(), '');
    if (call.images.length) lines.push(`Images: ${call.images.length} (inline)`, '');
  });
  if (result.files.length) {
    lines.push('Saved files:');
    result.files.forEach((file, i) => lines.push(`  ${saved[i] ?? '(not saved)'}  (${file.filename})`));
    lines.push('');
  }
  if (result.recovered) lines.push('(The container had expired and was re-created during this run.)', '');
  lines.push(costLine(cost), '');
  out.write(lines.join('\n'));
}

async function runCommand(prompt: string, flags: RunFlags, io: CliIO): Promise<number> {
  const offline = flags.offline === true;
  if (!offline && !process.env.OPENAI_API_KEY) {
    throw new UsageError(
      'OPENAI_API_KEY is not set. Set it to use the API (export OPENAI_API_KEY=sk-...), ' +
        'or pass --offline to run against the built-in simulator (simulated answers, no network).',
    );
  }
  await checkFiles(flags.file);
  const local = offline ? await startOfflineServer() : undefined;
  const client = local ? new OpenAI({ apiKey: 'sk-offline', baseURL: local.server.url }) : new OpenAI();
  const showProgress = !flags.json && io.stdout.isTTY === true;
  const session = new CodeInterpreterSession({
    client,
    model: flags.model,
    // A command line fails fast: a few retries with short waits (the server's retry-after still wins).
    retry: flags.retries === 0 ? false : { retries: flags.retries, maxTimeoutMs: 4_000 },
    ...(flags.instructions !== undefined && { instructions: flags.instructions }),
    ...(flags.memory && { container: { memoryLimit: flags.memory } }),
  });
  try {
    for (const path of flags.file) {
      const bar = progressBar(io.stderr, `uploading ${path}`);
      await session.upload(path, showProgress ? { onProgress: bar.update } : {});
      if (showProgress) bar.done();
    }
    const result = await session.run(prompt);
    const saved: string[] = [];
    for (const file of result.files) {
      const bar = progressBar(io.stderr, `saving ${file.filename}`);
      saved.push(await session.saveFile(file, flags.out, { overwrite: flags.overwrite === true, ...(showProgress && { onProgress: bar.update }) }));
      if (showProgress) bar.done();
    }
    if (flags.json) {
      const { raw: _raw, ...rest } = result;
      io.stdout.write(`${JSON.stringify({ ...rest, saved, cost: session.stats.cost, offline, ...(offline && { note: SIMULATED_NOTE }) }, null, 2)}\n`);
    } else {
      printHuman(result, saved, offline, session.stats.cost, io.stdout);
    }
    return EXIT.ok;
  } finally {
    await session.close().catch((error: unknown) => io.stderr.write(`warning: ${describeError(error)}\n`));
    await local?.server.close();
  }
}

/** Builds the command line program; `io` lets tests capture the output. */
export function buildProgram(io: CliIO = { stdout: process.stdout, stderr: process.stderr }): { program: Command; result: () => number } {
  let code: number = EXIT.ok;
  const program = new Command()
    .name('code-interpreter')
    .description("Run a prompt with OpenAI's Code Interpreter: upload files, print the answer, the code and its logs, save the generated files; or serve the offline simulator.")
    .version(process.env.npm_package_version ?? '0.1.0')
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');

  program
    .command('run')
    .description('run one prompt in a fresh container and save what it writes')
    .argument('<prompt>', 'what to ask, e.g. "Total revenue by region, as a chart"')
    .option('-f, --file <path>', 'a file to upload first (repeat for more)', collect, [])
    .option('-o, --out <dir>', 'where generated files are saved', './out')
    .option('-m, --model <model>', 'the model to use', 'gpt-5')
    .addOption(new Option('--memory <limit>', 'container memory').choices(['1g', '4g', '16g', '64g']))
    .option('-i, --instructions <text>', 'system instructions for the model')
    .option('--offline', 'use the built-in simulator instead of the API: simulated answers, no key, no network')
    .option('--overwrite', 'replace files of the same name in --out (default: save as "name (1).ext")')
    .option('--retries <n>', 'retries of a failed request (0-10)', retriesFlag, 3)
    .option('--json', 'print one machine-readable JSON result instead of text')
    .addHelpText(
      'after',
      '\nEnvironment: OPENAI_API_KEY (required unless --offline), OPENAI_BASE_URL (optional).\n' +
        'Exit codes: 0 success, 1 the run failed, 2 bad usage.\n\nExamples:\n' +
        '  code-interpreter run "Total revenue by region" --file sales.csv\n' +
        '  code-interpreter run "Plot units by product" -f sales.csv --out charts --overwrite --json\n' +
        '  code-interpreter run "Total revenue by region" -f sales.csv --offline   # no key needed\n',
    )
    .action(async (prompt: string, flags: RunFlags) => {
      if (prompt.trim() === '') throw new InvalidArgumentError('the prompt is empty');
      code = await runCommand(prompt, flags, io);
    });

  program
    .command('simulate')
    .description('serve the offline simulator of the API over HTTP, for tests and clients in any language')
    .option('-p, --port <port>', 'port on 127.0.0.1 (0: any free port)', portFlag, 4010)
    .option('--azure', "serve Azure OpenAI's shape (for new AzureOpenAI(...))")
    .option('--latency-ms <ms>', 'delay before every answer', msFlag)
    .option('--expire-after-idle-ms <ms>', 'containers expire after this much inactivity (default 20 minutes)', msFlag)
    .option('--rate-limit <requests/ms>', 'answer 429 over this rate, e.g. 100/60000', rateLimitFlag)
    .option('--log', 'print each request as it is answered (time, method, path, status)')
    .option('--no-hashed-paths', 'put uploaded files at /mnt/data/<name> instead of the service\'s /mnt/data/<hash>-<name>')
    .addHelpText(
      'after',
      '\nOn SIGINT/SIGTERM it stops and prints the containers still running and the Files API files not deleted.\n\nExamples:\n' +
        '  code-interpreter simulate --port 4010\n' +
        '  OPENAI_BASE_URL=http://127.0.0.1:4010/v1 OPENAI_API_KEY=test python my_script.py\n',
    )
    .action(async (flags: SimulateFlags) => {
      await simulateCommand(flags, io.stdout);
    });

  return { program, result: () => code };
}

/** Runs the CLI with `argv` (without node and the script); resolves to the exit code. */
export async function main(argv: string[], io: CliIO = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const { program, result } = buildProgram(io);
  try {
    if (argv.length === 0) {
      program.outputHelp();
      return EXIT.usage;
    }
    await program.parseAsync(argv, { from: 'user' });
    return result();
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return EXIT.ok;
      return EXIT.usage;
    }
    const { message, usage } = cliErrorMessage(error, { baseURL: process.env.OPENAI_BASE_URL });
    io.stderr.write(`error: ${message}\n`);
    return usage ? EXIT.usage : EXIT.failed;
  }
}
