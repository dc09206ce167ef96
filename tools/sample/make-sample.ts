/**
 * Writes the bundled sample dataset, shared/sample/complaints-sample.json: synthetic bank-customer
 * complaints in the schema of the Kaggle "automatic ticket classification" file. Seeded, so the
 * same options always write the same bytes. Run with `npm run make:sample`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_COUNT, DEFAULT_SEED, MAX_COUNT, generateSample, serializeSample } from './generate';

/** Where the committed sample lives (this file runs as dist/tools/sample/make-sample.js). */
export const DEFAULT_OUT = path.resolve(__dirname, '../../../shared/sample/complaints-sample.json');

export const USAGE = `Usage: node dist/tools/sample/make-sample.js [--out FILE] [--count N] [--seed S]

Writes synthetic CFPB-style complaints (Kaggle schema) as a JSON array.
  --out FILE   output file (default: shared/sample/complaints-sample.json in the project)
  --count N    number of tickets, 1 to ${MAX_COUNT} (default: ${DEFAULT_COUNT})
  --seed S     PRNG seed, 0 to 4294967295 (default: ${DEFAULT_SEED})
  --help       show this help
`;

export interface MakeSampleArgs {
  out: string;
  count: number;
  seed: number;
  help: boolean;
}

function integerArg(name: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}, got "${value}"`);
  }
  return n;
}

/** Parses `--out FILE`, `--out=FILE`, `--count N`, `--seed S` and `--help`. */
export function parseArgs(argv: readonly string[]): MakeSampleArgs {
  const args: MakeSampleArgs = { out: DEFAULT_OUT, count: DEFAULT_COUNT, seed: DEFAULT_SEED, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--help' || arg === '-h') {
      args.help = true;
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    if (name !== '--out' && name !== '--count' && name !== '--seed') {
      throw new RangeError(`unknown argument "${arg}"; see --help`);
    }
    let value: string | undefined;
    if (eq >= 0) {
      value = arg.slice(eq + 1);
    } else {
      value = argv[i + 1];
      i++;
    }
    if (value === undefined || value === '') throw new RangeError(`${name} needs a value`);
    if (name === '--out') args.out = path.resolve(value);
    else if (name === '--count') args.count = integerArg(name, value, 1, MAX_COUNT);
    else args.seed = integerArg(name, value, 0, 0xffffffff);
  }
  return args;
}

/** Generates and writes the sample atomically (temporary file, then rename). Returns the text written. */
export function writeSample(out: string, count: number, seed: number): string {
  const text = serializeSample(generateSample({ count, seed }));
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const tmp = `${out}.tmp-${process.pid}`;
  try {
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, out);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  return text;
}

export function main(argv: readonly string[]): number {
  let args: MakeSampleArgs;
  try {
    args = parseArgs(argv);
  } catch (err) {
    process.stderr.write(`make-sample: ${(err as Error).message}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  try {
    const text = writeSample(args.out, args.count, args.seed);
    process.stdout.write(
      `make-sample: wrote ${args.count} tickets (seed ${args.seed}, ${Buffer.byteLength(text)} bytes) to ${args.out}\n`,
    );
    return 0;
  } catch (err) {
    process.stderr.write(`make-sample: ${(err as Error).message}\n`);
    return 1;
  }
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2));
}
