// One process asking for a build with buildOnce() (test/build-once.test.ts starts several at once).
// The build writes its files slowly, one by one, and notes each run in `log`; once buildOnce()
// returns, the process reads the folder and prints what it saw.
import { appendFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildOnce } from './build-once.js';

const [dir, log, mode] = process.argv.slice(2) as [string, string, 'ok' | 'fail'];
const FILES = 10;
try {
  await buildOnce(dir, async (into) => {
    await appendFile(log, `${process.pid}\n`);
    if (mode === 'fail') throw new Error('tsup: something went wrong');
    await mkdir(into, { recursive: true });
    for (let i = 0; i < FILES; i++) {
      await writeFile(join(into, `part-${i}.js`), `export const part = ${i};\n`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });
  const names = (await readdir(dir)).sort();
  const complete = (await Promise.all(names.map((n) => readFile(join(dir, n), 'utf8')))).every((text, i) => text === `export const part = ${Number(names[i]!.slice(5, -3))};\n`);
  process.stdout.write(JSON.stringify({ files: names.length, complete }));
} catch (error) {
  process.stdout.write(JSON.stringify({ error: (error as Error).message }));
}
