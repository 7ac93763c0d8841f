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

/** Picks the CSV the user most likely means: one named in the input, else the newest upload. */
function pickCsv(turn: SimulatedTurnContext): TurnFile | undefined {
  const csvs = turn.files.filter((f) => f.name.toLowerCase().endsWith('.csv') && f.source === 'user');
  return csvs.find((f) => turn.input.includes(f.name)) ?? csvs.at(-1);
}

/**
 * The default stand-in for the model. With a CSV in the container it really analyses it: totals
 * of a numeric column grouped by a text column (the ones named in the prompt, or the first text
 * column and the last numeric one), and writes an SVG bar chart and a CSV of the totals. Without
 * a CSV it runs a small snippet and says what it would need.
 */
export function defaultRespond(turn: SimulatedTurnContext): SimulatedTurn {
  const file = pickCsv(turn);
  if (!file) {
    if (turn.containerId === null) return { text: `(simulated ${turn.model}) ${turn.input}`.trim() };
    const names = turn.files.map((f) => f.name);
    return {
      code: 'import os\nprint(sorted(os.listdir("/mnt/data")))',
      logs: `${JSON.stringify(names).replace(/"/g, "'")}\n`,
      text: 'I found no CSV file in the container. Upload one and ask me to summarise it by a column.',
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
  const totals = new Map<string, number>();
  for (const row of rows) totals.set(row[gi] ?? '', (totals.get(row[gi] ?? '') ?? 0) + Number(row[vi]));
  const bars = [...totals].map(([label, value]) => ({ label, value })).sort((a, b) => b.value - a.value);
  const grand = bars.reduce((sum, b) => sum + b.value, 0);

  const base = `${slug(valueColumn)}_by_${slug(groupColumn)}`;
  const chartName = `${base}.svg`;
  const csvName = `${base}.csv`;
  const width = Math.max(groupColumn.length, ...bars.map((b) => b.label.length));
  const logs =
    `${groupColumn.padEnd(width)}  ${valueColumn}\n` +
    bars.map((b) => `${b.label.padEnd(width)}  ${formatNumber(b.value)}`).join('\n') +
    `\nTOTAL${' '.repeat(Math.max(2, width - 3))}${formatNumber(grand)}\n`;
  const code = [
    'import pandas as pd',
    'import matplotlib.pyplot as plt',
    `df = pd.read_csv(${JSON.stringify(file.path)})`,
    `totals = df.groupby(${JSON.stringify(groupColumn)})[${JSON.stringify(valueColumn)}].sum().sort_values(ascending=False)`,
    'print(totals.to_string())',
    `print("TOTAL", totals.sum())`,
    `totals.to_csv("/mnt/data/${csvName}")`,
    'totals.plot.barh(title="' + `${valueColumn} by ${groupColumn}` + '").get_figure().savefig("/mnt/data/' + chartName + '")',
  ].join('\n');
  const top = bars[0]!;
  const text =
    `Total ${valueColumn} by ${groupColumn} in ${file.name}: ` +
    bars.map((b) => `${b.label} ${formatNumber(b.value)}`).join(', ') +
    `. ${top.label} is the largest with ${formatNumber(top.value)} of ${formatNumber(grand)} ` +
    `(${((top.value / (grand || 1)) * 100).toFixed(1)}%). ` +
    `The chart is in ${chartName} and the totals are in ${csvName}.`;
  return {
    code,
    logs,
    images: [`data:image/png;base64,${Buffer.from(pngBarChart(bars.map((b) => b.value))).toString('base64')}`],
    files: [
      { name: chartName, data: svgBarChart(`${valueColumn} by ${groupColumn}`, bars) },
      { name: csvName, data: toCsv([[groupColumn, valueColumn], ...bars.map((b) => [b.label, formatNumber(b.value)])]) },
    ],
    text,
  };
}
