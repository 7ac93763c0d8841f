import { formatNumber, pngBarChart, svgBarChart } from './chart.js';
import { parseCsv, toCsv } from './csv.js';
import type { SimulatedTurn, SimulatedTurnContext, TurnFile } from './types.js';

const isNumeric = (s: string) => s.trim() !== '' && Number.isFinite(Number(s));

function mentioned(input: string, column: string): boolean {
  const words = column.toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);
  const text = input.toLowerCase();
  return words.length > 0 && words.every((w) => text.includes(w));
}

function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '') || 'value';
}

type Measure = 'total' | 'average' | 'count' | 'maximum' | 'minimum';

/** What the prompt asks to compute per group. @default 'total' */
function measureAsked(input: string): Measure {
  const text = input.toLowerCase();
  if (/\b(average|avg|mean)\b/.test(text)) return 'average';
  if (/\b(count|how many|number of)\b/.test(text)) return 'count';
  if (/\b(max|maximum|highest|largest|biggest)\b/.test(text)) return 'maximum';
  if (/\b(min|minimum|lowest|smallest)\b/.test(text)) return 'minimum';
  return 'total';
}

const AGGREGATE: Record<Measure, { pandas: string; of: (values: number[]) => number }> = {
  total: { pandas: 'sum', of: (v) => v.reduce((a, b) => a + b, 0) },
  average: { pandas: 'mean', of: (v) => v.reduce((a, b) => a + b, 0) / v.length },
  count: { pandas: 'count', of: (v) => v.length },
  maximum: { pandas: 'max', of: (v) => Math.max(...v) },
  minimum: { pandas: 'min', of: (v) => Math.min(...v) },
};

/** File names the prompt asks for (`chart.png`, `summary.csv`), by extension; names of the user's own files (`inputs`) are what it reads, not what it asks for. */
function namesAsked(input: string, inputs: readonly string[]): { chart?: string; csv?: string } {
  const names = [...input.matchAll(/[\w.-]+\.(png|svg|jpe?g|csv)\b/gi)].map((m) => m[0]).filter((n) => !inputs.includes(n));
  return {
    chart: names.find((n) => /\.(png|svg|jpe?g)$/i.test(n)),
    csv: names.find((n) => /\.csv$/i.test(n) && !n.includes('/')),
  };
}

/** Picks the CSV the user most likely means: one named in the input, else the newest upload. */
function pickCsv(turn: SimulatedTurnContext): TurnFile | undefined {
  const csvs = turn.files.filter((f) => f.name.toLowerCase().endsWith('.csv') && f.source === 'user');
  return csvs.find((f) => turn.input.includes(f.name)) ?? csvs.at(-1);
}

/**
 * The default stand-in for the model. With a CSV in the container it really analyses it: the
 * total (or the average, count, maximum or minimum, when the prompt says so) of a numeric column
 * grouped by a text column (the ones named in the prompt, or the first text column and the last
 * numeric one), and writes a bar chart and a CSV of the figures — under the names the prompt asks
 * for (`chart.png`, `summary.csv`), else `<value>_by_<group>.svg`/`.csv`. Without a CSV it says
 * plainly that its answer is simulated and what it would need.
 */
export function defaultRespond(turn: SimulatedTurnContext): SimulatedTurn {
  const file = pickCsv(turn);
  if (!file) {
    if (turn.containerId === null) return { text: `(simulated ${turn.model}) ${turn.input}`.trim() };
    const names = turn.files.map((f) => f.name);
    const unread = turn.unreadFiles.length
      ? ` The simulator could not read ${turn.unreadFiles.join(', ')} (it does not download file_url inputs: give their contents with createSimulator({ fileUrls })).`
      : '';
    return {
      code: 'import os\nprint(sorted(os.listdir("/mnt/data")))',
      logs: `${JSON.stringify(names).replace(/"/g, "'")}\n`,
      text: `(Simulated answer: the code-interpreter-session simulator only analyses CSV files.) I found no CSV file in the container. Upload one and ask me to summarise it by a column.${unread}`,
    };
  }
  const [header = [], ...rows] = parseCsv(file.text());
  const numericColumns = header.filter((_, i) => rows.length > 0 && rows.every((r) => isNumeric(r[i] ?? '')));
  const textColumns = header.filter((c) => !numericColumns.includes(c));
  const valueColumn = numericColumns.find((c) => mentioned(turn.input, c)) ?? numericColumns.at(-1);
  const groupColumn = textColumns.find((c) => mentioned(turn.input, c)) ?? textColumns[0];
  if (!valueColumn || !groupColumn) {
    return {
      code: `import pandas as pd\ndf = pd.read_csv(${JSON.stringify(file.path)})\nprint(df.dtypes)`,
      logs: header.map((c) => `${c}    ${numericColumns.includes(c) ? 'float64' : 'object'}`).join('\n') + '\n',
      text: `${file.name} needs at least one text column and one numeric column to total; it has ${header.join(', ') || 'no columns'}.`,
    };
  }
  const gi = header.indexOf(groupColumn);
  const vi = header.indexOf(valueColumn);
  const measure = measureAsked(turn.input);
  const aggregate = AGGREGATE[measure];
  const groups = new Map<string, number[]>();
  for (const row of rows) groups.set(row[gi] ?? '', [...(groups.get(row[gi] ?? '') ?? []), Number(row[vi])]);
  const bars = [...groups].map(([label, values]) => ({ label, value: aggregate.of(values) })).sort((a, b) => b.value - a.value);
  const overall = aggregate.of(rows.map((r) => Number(r[vi])));

  const asked = namesAsked(turn.input, turn.files.filter((f) => f.source === 'user').map((f) => f.name));
  const base = `${measure === 'total' ? '' : `${measure}_`}${slug(valueColumn)}_by_${slug(groupColumn)}`;
  const chartName = asked.chart ?? `${base}.svg`;
  const csvName = asked.csv ?? `${base}.csv`;
  const title = `${measure[0]!.toUpperCase()}${measure.slice(1)} ${valueColumn} by ${groupColumn}`;
  const png = pngBarChart(bars.map((b) => b.value));
  const chartData = /\.svg$/i.test(chartName) ? svgBarChart(measure === 'total' ? `${valueColumn} by ${groupColumn}` : title, bars) : png;
  const width = Math.max(groupColumn.length, ...bars.map((b) => b.label.length));
  const overallLabel = measure === 'total' ? 'TOTAL' : measure.toUpperCase();
  const logs =
    `${groupColumn.padEnd(width)}  ${valueColumn}\n` +
    bars.map((b) => `${b.label.padEnd(width)}  ${formatNumber(b.value)}`).join('\n') +
    `\n${overallLabel}${' '.repeat(Math.max(2, width - overallLabel.length + 2))}${formatNumber(overall)}\n`;
  const code = [
    'import pandas as pd',
    'import matplotlib.pyplot as plt',
    `df = pd.read_csv(${JSON.stringify(file.path)})`,
    `result = df.groupby(${JSON.stringify(groupColumn)})[${JSON.stringify(valueColumn)}].${aggregate.pandas}().sort_values(ascending=False)`,
    'print(result.to_string())',
    `print(${JSON.stringify(overallLabel)}, df[${JSON.stringify(valueColumn)}].${aggregate.pandas}())`,
    `result.to_csv("/mnt/data/${csvName}")`,
    `result.plot.barh(title=${JSON.stringify(`${valueColumn} by ${groupColumn}`)}).get_figure().savefig("/mnt/data/${chartName}")`,
  ].join('\n');
  const top = bars[0]!;
  const share = measure === 'total' ? ` of ${formatNumber(overall)} (${((top.value / (overall || 1)) * 100).toFixed(1)}%)` : ` (overall ${formatNumber(overall)})`;
  const text =
    `${title} in ${file.name}: ` +
    bars.map((b) => `${b.label} ${formatNumber(b.value)}`).join(', ') +
    `. ${top.label} is the largest with ${formatNumber(top.value)}${share}. ` +
    `The chart is in ${chartName} and the ${measure === 'total' ? 'totals' : 'figures'} are in ${csvName}.`;
  return {
    code,
    logs,
    images: [`data:image/png;base64,${Buffer.from(png).toString('base64')}`],
    files: [
      { name: chartName, data: chartData },
      { name: csvName, data: toCsv([[groupColumn, valueColumn], ...bars.map((b) => [b.label, formatNumber(b.value)])]) },
    ],
    text,
  };
}
