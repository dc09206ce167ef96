/**
 * Compares two model.json files as runs are compared across run ids (test/runs/artifacts.ts
 * comparableBytes: without `lineage.runId`), prints both SHA-256 and `model bytes identical: yes`, or
 * `... no` and exits 1.
 *
 *   node dist/tools/demo/same-model.js LABEL_A=FILE_A LABEL_B=FILE_B
 */
import fs from 'node:fs';
import { createHash } from 'node:crypto';
import { ARTIFACTS } from '../../shared/pipeline/stages/context';
import { comparableBytes } from '../../test/runs/artifacts';

function parse(arg: string | undefined): { label: string; file: string } {
  const eq = arg?.indexOf('=') ?? -1;
  if (arg === undefined || eq < 1) throw new RangeError('usage: same-model.js LABEL_A=FILE_A LABEL_B=FILE_B');
  return { label: arg.slice(0, eq), file: arg.slice(eq + 1) };
}

function main(): number {
  const models = process.argv.slice(2, 4).map(parse);
  if (models.length !== 2) throw new RangeError('usage: same-model.js LABEL_A=FILE_A LABEL_B=FILE_B');
  const bytes = models.map((m) => comparableBytes(ARTIFACTS.model, fs.readFileSync(m.file)));
  const width = Math.max(...models.map((m) => m.label.length));
  models.forEach((m, i) => {
    const digest = createHash('sha256').update(bytes[i]!).digest('hex');
    console.log(
      `  ${m.label.padEnd(width)}  sha256 ${digest}  (${bytes[i]!.length} bytes, without lineage.runId)`,
    );
  });
  const same = bytes[0]!.equals(bytes[1]!);
  console.log(`model bytes identical: ${same ? 'yes' : 'no'}`);
  return same ? 0 : 1;
}

try {
  process.exitCode = main();
} catch (err) {
  console.error(`same-model: ${(err as Error).message}`);
  process.exitCode = 1;
}
