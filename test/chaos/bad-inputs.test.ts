/**
 * The bad-input corpus: bad datasets, bad parameters and data-dependent failures, each driven through the
 * real HTTP API of one stack (one worker process, its sandboxes, a private data root). For each case the
 * table says where it must fail — `400` at the API before anything is enqueued, or a failed `run` whose
 * failing stage made exactly one attempt (bad input is never retried) — and the message it must give.
 * Every bad file holds a canary string: no message may quote it (a dataset may be a secret file).
 * Two well-formed oddities (a UTF-8 byte order mark, a CRLF CSV) must complete.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { StageName } from '../../shared/pipeline/stages/definitions';
import { csvRow } from '../../shared/core/io/csv';
import { submitRun } from '../../shared/runtime/runs/submit';
import { call } from '../helpers/http';
import { SAMPLE_DATASET, tempDir } from '../helpers/env';
import { Stack, startStack } from '../helpers/stack';

const CANARY = 'CANARY-c4f1e-do-not-quote';
const MiB = 1024 * 1024;

type Where =
  /** 400 at POST /runs */
  | { at: 'api' }
  /** 202, then the run fails in `stage` after one attempt */
  | { at: 'run'; stage: StageName }
  /** 202, then the run completes */
  | { at: 'pass' };

interface Case {
  name: string;
  /** dataset as the request names it (relative to the data root unless absolute) */
  dataset: string;
  params?: Record<string, unknown>;
  /** the raw request body instead of {dataset, params} */
  body?: string;
  /** bypass the API, as a job added by hand: submit straight to the queues with this job-data dataset */
  direct?: true;
  where: Where;
  message?: RegExp;
  skip?: string;
}

interface Outcome {
  status: number;
  error?: string;
  run?: {
    state: string;
    error: { stage: string; message: string } | null;
    stages: { stage: string; state: string; attemptsMade: number }[];
  };
}

const hit = (i: number, narrative: unknown, product: unknown = 'Credit card', sub: unknown = null) => ({
  _index: 'complaint-public-v2',
  _id: `t${i}`,
  _source: { complaint_what_happened: narrative, product, sub_product: sub },
});

const sample = JSON.parse(fs.readFileSync(SAMPLE_DATASET, 'utf8')) as ReturnType<typeof hit>[];
const subset = sample.slice(0, 400);

/** Writes the corpus into `dir`; returns the special files it could not make, with the reason. */
function writeCorpus(dir: string): Record<string, string> {
  const w = (name: string, content: string | Buffer) => fs.writeFileSync(path.join(dir, name), content);
  const json = (v: unknown) => JSON.stringify(v);
  const cannot: Record<string, string> = {};
  w('empty.json', '');
  w('empty-array.json', '[]');
  w('object.json', json({ hits: { total: 1, hits: [hit(0, CANARY)] } }));
  w('object-pretty.json', JSON.stringify({ hits: { hits: [hit(0, CANARY)] } }, null, 2));
  w('truncated.json', json([hit(0, `first ${CANARY}`), hit(1, `second ${CANARY}`)]).slice(0, -25));
  w('wrong-types.json', json([hit(0, `fine ${CANARY}`), hit(1, `text ${CANARY}`, 7)]));
  w('wrong-sub-product.json', json([hit(0, `text ${CANARY}`, 'Mortgage', { nested: CANARY })]));
  w('not-objects.json', json([hit(0, CANARY), CANARY]));
  w('null-narratives.json', json(Array.from({ length: 6 }, (_, i) => hit(i, null, CANARY))));
  w('number-narratives.json', json([hit(0, 12345, CANARY), hit(1, 678, CANARY)]));
  w(
    'latin1.json',
    Buffer.concat([
      Buffer.from(`[${json(hit(0, `fine ${CANARY}`))}, {"_source": {"complaint_what_happened": "caf`),
      Buffer.from([0xe9]),
      Buffer.from(` au lait ${CANARY}", "product": "P"}}]`),
    ]),
  );
  w('utf16.json', Buffer.from('\ufeff' + json(subset.slice(0, 5)), 'utf16le'));
  w('bom.json', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(json(subset))]));
  const header = ['Date received', 'Product', 'Sub-product', 'Consumer complaint narrative', 'Complaint ID'];
  const rows = subset.map((h) => [
    '2024-01-02',
    h._source.product as string,
    (h._source.sub_product as string | null) ?? '',
    h._source.complaint_what_happened as string,
    h._id,
  ]);
  w('crlf.csv', [header, ...rows].map((r) => csvRow(r).replace(/\n$/, '\r\n')).join(''));
  w(
    'unbalanced-eof.csv',
    csvRow(header) +
      csvRow(['2024-01-02', 'Mortgage', '', `fine ${CANARY}`, '1']) +
      `2024-01-03,Mortgage,,"never closed ${CANARY}, still inside,2\n2024-01-04,Mortgage,,more ${CANARY},3\n`,
  );
  w(
    'unbalanced-mid.csv',
    csvRow(header) +
      `2024-01-02,Mortgage,,"the quote opens ${CANARY}, and is never closed,1\n` +
      csvRow(['2024-01-03', 'Credit card', '', `with "quotes", ${CANARY}`, '2']) +
      csvRow(['2024-01-04', 'Credit card', '', `third ${CANARY}`, '3']),
  );
  w(
    'no-narrative-column.csv',
    csvRow(['Date received', 'Product', 'Sub-product', 'Complaint ID']) +
      csvRow(['2024-01-02', CANARY, '', '1']),
  );
  w('ragged.csv', csvRow(header) + csvRow(['2024-01-02', 'Mortgage', '', `text ${CANARY}`]));
  w(
    'huge-record.json',
    `[{"_source": {"complaint_what_happened": "${'a'.repeat(20 * MiB)} ${CANARY}", "product": "P"}}]`,
  );
  w('huge-line.jsonl', `{"_source": {"complaint_what_happened": "${'b'.repeat(20 * MiB)} ${CANARY}`);
  w(
    'unterminated-string.json',
    `[{"_source": {"complaint_what_happened": "${CANARY} ${'c'.repeat(12 * MiB)}`,
  );
  w(
    'bad-line.jsonl',
    json(hit(0, `fine ${CANARY}`)) + '\n' + `{"_source": {"complaint_what_happened": ${CANARY}}}\n`,
  );
  w('not-json.json', `[{"_source": {"complaint_what_happened": ${CANARY}, "product": "P"}}]`);
  // binary garbage: a fixed pseudo-random byte sequence with the canary in it
  const garbage = Buffer.alloc(256 * 1024);
  let x = 0x9e3779b9;
  for (let i = 0; i < garbage.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    garbage[i] = x >>> 24;
  }
  garbage[0] = 0x8f;
  garbage.write(CANARY, 1000);
  w('garbage.json', garbage);
  w('garbage.bin', garbage);
  w('notes.txt', `Meeting notes, ${CANARY}: the bank, the fee, the dispute.\n`);
  // data-dependent failures, on data that is well formed
  const tickets = (n: number, text: (i: number) => string) =>
    json(Array.from({ length: n }, (_, i) => hit(i, text(i), i % 2 ? 'Mortgage' : 'Credit card')));
  w(
    'one.json',
    tickets(1, () => 'The bank charged a fee on my checking account.'),
  );
  w(
    'two.json',
    tickets(2, (i) => (i ? 'The mortgage servicer lost my payment.' : 'The bank charged a fee.')),
  );
  w(
    'identical.json',
    tickets(30, () => 'The bank charged an overdraft fee on my checking account.'),
  );
  w(
    'digits.json',
    tickets(30, (i) => `${1000 + i} 2${i} 33 ${i * 7}`),
  );
  // copies of the sample with distinct bytes: no run of one tells the API the ticket count of another
  for (const [i, name] of ['topics50', 'ts999', 'ts001', 'mindf', 'maxdf'].entries())
    w(`sample-${name}.json`, json(subset) + '\n'.repeat(i + 1));
  // not regular files, links, permissions
  fs.mkdirSync(path.join(dir, 'folder.json'));
  try {
    execFileSync('mkfifo', [path.join(dir, 'fifo.json')]);
  } catch (err) {
    cannot['fifo.json'] = `mkfifo failed: ${(err as Error).message}`;
  }
  try {
    execFileSync('mknod', [path.join(dir, 'zero.json'), 'c', '1', '5']);
  } catch (err) {
    cannot['zero.json'] = `mknod failed (no CAP_MKNOD?): ${(err as Error).message}`;
  }
  fs.symlinkSync('/etc/passwd', path.join(dir, 'escape.json'));
  fs.symlinkSync(path.join(dir, 'nowhere.json'), path.join(dir, 'dangling.json'));
  fs.symlinkSync('/etc/passwd', path.join(dir, 'swapped.json'));
  w('unreadable.json', json([hit(0, CANARY)]));
  fs.chmodSync(path.join(dir, 'unreadable.json'), 0o000);
  return cannot;
}

const api = { at: 'api' } as const;
const text = { at: 'run', stage: 'text-processing' } as const;
const topics = { at: 'run', stage: 'feature-extraction' } as const;
const pass = { at: 'pass' } as const;
const ok = 'sample-topics50.json'; // a well-formed dataset for the parameter cases (they never reach it)

const CASES: Case[] = [
  // ----- bad datasets
  { name: 'empty file', dataset: 'empty.json', where: text, message: /empty\.json: the file is empty/ },
  {
    name: 'an empty array',
    dataset: 'empty-array.json',
    where: text,
    message: /no record with a non-empty narrative \(0 records read\)/,
  },
  {
    name: 'a JSON object instead of an array (one line)',
    dataset: 'object.json',
    where: text,
    message: /object\.json, record 0: the file holds a JSON object, not an array of hits/,
  },
  {
    name: 'a JSON object instead of an array (pretty-printed)',
    dataset: 'object-pretty.json',
    where: text,
    message: /record 0: the file holds a JSON object, not an array of hits: .*not JSON at byte \d+/,
  },
  {
    name: 'truncated JSON',
    dataset: 'truncated.json',
    where: text,
    message: /truncated\.json, record 1: truncated: the file ends inside record 1 \(inside a string\)/,
  },
  {
    name: 'wrong schema: product a number',
    dataset: 'wrong-types.json',
    where: text,
    message: /record 1, field "_source\.product": is a number, expected a string/,
  },
  {
    name: 'wrong schema: sub_product an object',
    dataset: 'wrong-sub-product.json',
    where: text,
    message: /record 0, field "_source\.sub_product": is an object, expected a string or null/,
  },
  {
    name: 'wrong schema: a record that is not an object',
    dataset: 'not-objects.json',
    where: text,
    message: /record 1: record is a string, expected an object/,
  },
  {
    name: 'null narratives everywhere',
    dataset: 'null-narratives.json',
    where: text,
    message: /no record with a non-empty narrative \(6 records read\)/,
  },
  {
    name: 'numbers as narratives',
    dataset: 'number-narratives.json',
    where: text,
    message: /record 0, field "_source\.complaint_what_happened": is a number, expected a string or null/,
  },
  {
    name: 'non-UTF-8 bytes (Latin-1)',
    dataset: 'latin1.json',
    where: text,
    message: /latin1\.json, record 1: not valid UTF-8 at byte \d+: datasets must be UTF-8/,
  },
  {
    name: 'a UTF-16 file',
    dataset: 'utf16.json',
    where: text,
    message: /utf16\.json: is UTF-16 .*datasets must be UTF-8/,
  },
  { name: 'UTF-8 byte order mark + valid JSON (passes)', dataset: 'bom.json', where: pass },
  { name: 'CRLF CSV (passes)', dataset: 'crlf.csv', where: pass },
  {
    name: 'CSV: an unbalanced quote, file ends inside it',
    dataset: 'unbalanced-eof.csv',
    where: text,
    message: /unbalanced-eof\.csv, record 1: truncated: an opening quote at byte \d+ is never closed/,
  },
  {
    name: 'CSV: an unbalanced quote, closed by a later field',
    dataset: 'unbalanced-mid.csv',
    where: text,
    message: /unbalanced-mid\.csv, record 0: an opening quote at byte \d+ is never closed/,
  },
  {
    name: 'CSV without the narrative column',
    dataset: 'no-narrative-column.csv',
    where: text,
    message: /CSV header lacks required column\(s\) "Consumer complaint narrative"/,
  },
  {
    name: 'CSV row with too few fields',
    dataset: 'ragged.csv',
    where: text,
    message: /ragged\.csv, record 0: CSV row has 4 fields, the header has 5/,
  },
  {
    name: 'a 20 MiB single record',
    dataset: 'huge-record.json',
    where: text,
    message:
      /huge-record\.json, record 0: the record starting at byte 1 is larger than the 10 MiB a record may take \(MAX_RECORD_BYTES\)/,
  },
  {
    name: 'a 20 MiB line without newline (JSON Lines)',
    dataset: 'huge-line.jsonl',
    where: text,
    message:
      /huge-line\.jsonl, record 0: the record starting at byte 0 is longer than the 10 MiB a record may take/,
  },
  {
    name: 'a string that never ends',
    dataset: 'unterminated-string.json',
    where: text,
    message:
      /record 0: the record starting at byte 1 is larger than the 10 MiB .*a string in it is still open/,
  },
  {
    name: 'JSON Lines: a line that is not JSON',
    dataset: 'bad-line.jsonl',
    where: text,
    message:
      /bad-line\.jsonl, record 1: not JSON at byte \d+ \(the record starts at byte \d+\): unexpected character/,
  },
  {
    name: 'JSON array: an element that is not JSON',
    dataset: 'not-json.json',
    where: text,
    message: /record 0: not JSON at byte 41 \(the record starts at byte 1\): unexpected character/,
  },
  {
    name: 'binary garbage (.json)',
    dataset: 'garbage.json',
    where: text,
    message: /garbage\.json, record 0: not valid UTF-8 at byte 0/,
  },
  {
    name: 'binary garbage (no extension): an unknown format, never read as CSV',
    dataset: 'garbage.bin',
    where: text,
    message: /garbage\.bin: unknown dataset format: .*Known formats: json .*; jsonl .*; csv /,
  },
  {
    name: 'plain text: an unknown format',
    dataset: 'notes.txt',
    where: text,
    message: /notes\.txt: unknown dataset format: neither its extension nor its first bytes match/,
  },
  // ----- not regular files, outside the root, permissions: refused by the API
  {
    name: '/dev/zero by absolute path',
    dataset: '/dev/zero',
    where: api,
    message: /relative to the data root/,
  },
  {
    name: 'a character device (/dev/zero) in the data root',
    dataset: 'zero.json',
    where: api,
    message: /"zero\.json" is not a file to read as a dataset: it is a character device, not a regular file/,
  },
  {
    name: 'a FIFO',
    dataset: 'fifo.json',
    where: api,
    message:
      /"fifo\.json" is not a file to read as a dataset: it is a FIFO \(named pipe\), not a regular file/,
  },
  {
    name: 'a socket',
    dataset: 'socket.json',
    where: api,
    message: /"socket\.json" is not a file to read as a dataset: it is a socket, not a regular file/,
  },
  {
    name: 'a directory',
    dataset: 'folder.json',
    where: api,
    message: /"folder\.json" is not a file to read as a dataset: it is a directory/,
  },
  {
    name: 'a symlink out of the data root',
    dataset: 'escape.json',
    where: api,
    message: /"escape\.json" resolves outside the data root/,
  },
  {
    name: '.. out of the data root',
    dataset: '../escape.json',
    where: api,
    message: /outside the data root/,
  },
  {
    name: 'a dangling symlink',
    dataset: 'dangling.json',
    where: api,
    message: /"dangling\.json" does not exist/,
  },
  {
    name: 'a file without read permission',
    dataset: 'unreadable.json',
    where: api,
    message: /permission denied/,
    skip: process.getuid?.() === 0 ? 'running as root: chmod 000 does not stop root from reading' : undefined,
  },
  // ----- job data not trusted by the worker (jobs added by hand, bypassing the API's checks)
  {
    name: 'job data: an absolute path outside the data root (/etc/passwd)',
    dataset: '/etc/passwd',
    direct: true,
    where: text,
    message: /\/etc\/passwd: resolves outside the data root/,
  },
  {
    name: 'job data: a symlink out of the root swapped in after the API checked',
    dataset: 'swapped.json',
    direct: true,
    where: text,
    message: /swapped\.json: resolves outside the data root/,
  },
  // ----- bad parameters: 400 before anything is enqueued
  ...[1, 0, -1, '3', 51].map((t): Case => ({
    name: `topics ${JSON.stringify(t)}`,
    dataset: ok,
    params: { topics: t },
    where: api,
    message: /parameter "topics" must be an integer from 2 to 50/,
  })),
  {
    name: 'minDf above maxDf, both counts',
    dataset: ok,
    params: { minDf: 10, maxDf: 5 },
    where: api,
    message: /"minDf" \(10\) must not exceed "maxDf" \(5\) when both are document counts/,
  },
  {
    name: 'maxDf 0',
    dataset: ok,
    params: { maxDf: 0 },
    where: api,
    message: /parameter "maxDf" must be a document count/,
  },
  ...[0, 1].map((v): Case => ({
    name: `testSize ${v}`,
    dataset: ok,
    params: { testSize: v },
    where: api,
    message: /parameter "testSize" must be a number strictly between 0 and 1/,
  })),
  ...[0, -1].map((v): Case => ({
    name: `C ${v}`,
    dataset: ok,
    params: { C: v },
    where: api,
    message: /parameter "C" must be a number strictly between 0 and/,
  })),
  {
    name: 'an unknown parameter',
    dataset: ok,
    params: { learningRate: 0.1 },
    where: api,
    message: /unknown parameter "learningRate"/,
  },
  ...['__proto__', 'constructor', 'hasOwnProperty', 'valueOf', 'isPrototypeOf'].map((name): Case => ({
    name: `parameter ${name}`,
    dataset: ok,
    // raw JSON: JSON.parse makes "__proto__" an own key, as a client's body would
    body: `{"dataset": "${ok}", "params": {"${name}": {"topics": 1}}}`,
    where: api,
    message: new RegExp(`unknown parameter "${name}"`),
  })),
  {
    name: 'chunkSize 0',
    dataset: ok,
    params: { chunkSize: 0 },
    where: api,
    message: /parameter "chunkSize" must be an integer from 1/,
  },
  // ----- data-dependent: valid parameters this data cannot satisfy (first attempt, in stage 2)
  {
    name: '1 ticket',
    dataset: 'one.json',
    where: topics,
    message: /parameter "topics" \(3\) must be below the number of tickets \(1\)/,
  },
  {
    name: '2 tickets',
    dataset: 'two.json',
    where: topics,
    message: /parameter "topics" \(3\) must be below the number of tickets \(2\)/,
  },
  {
    name: 'identical narratives',
    dataset: 'identical.json',
    where: topics,
    message: /maxDf|minDf|vocabulary/,
  },
  { name: 'digits only', dataset: 'digits.json', where: topics, message: /vocabulary|no term|empty/ },
  {
    name: 'topics 50 on the sample',
    dataset: 'sample-topics50.json',
    params: { topics: 50 },
    // stage 2 fits 50 topics; one of them holds a single ticket, which a stratified split cannot place
    where: { at: 'run', stage: 'transform-split' },
    message:
      /holds only 1 ticket, too few for a stratified split .*set "stratify": false, or change "topics"/,
  },
  {
    name: 'testSize 0.999',
    dataset: 'sample-ts999.json',
    params: { testSize: 0.999 },
    where: topics,
    message: /parameter "testSize" \(0\.999\) leaves 0 of 383 tickets for training, fewer than 2/,
  },
  {
    name: 'testSize 0.001',
    dataset: 'sample-ts001.json',
    params: { testSize: 0.001 },
    where: topics,
    message: /parameter "testSize" \(0\.001\) leaves 1 of 383 tickets for testing/,
  },
  {
    name: 'minDf 5000',
    dataset: 'sample-mindf.json',
    params: { minDf: 5000 },
    where: topics,
    message: /parameter "minDf" \(5000\) exceeds the number of tickets \(383\)/,
  },
  {
    name: 'maxDf 1e-9',
    dataset: 'sample-maxdf.json',
    params: { maxDf: 1e-9 },
    where: topics,
    message: /"maxDf" 1e-9 .* keep no term/,
  },
];

describe('bad-input corpus', { timeout: 120_000 }, () => {
  let stack: Stack;
  let dir: string;
  let socket: net.Server | null = null;
  let cannot: Record<string, string> = {};
  const outcomes = new Map<string, Promise<Outcome>>();
  let tried = 0;
  let passing = 0;
  let skipped = 0;

  before(async () => {
    dir = tempDir('bad-inputs');
    cannot = writeCorpus(dir);
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path.join(dir, 'socket.json'), () => resolve());
    }).then(
      () => (socket = server),
      (err: Error) => (cannot['socket.json'] = `cannot listen on a Unix socket: ${err.message}`),
    );
    stack = await startStack({ workers: 1, api: true, env: { TICKETFLOW_DATA_DIR: dir } });
    // Submit every case at once; the worker then goes through the runs back to back.
    for (const c of CASES) {
      if (c.skip || cannot[c.dataset]) continue;
      outcomes.set(c.name, submit(c));
    }
    // keep a rejected submission from being unhandled before its test awaits it
    for (const p of outcomes.values()) p.catch(() => undefined);
  });

  after(async () => {
    socket?.close();
    await stack?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function submit(c: Case): Promise<Outcome> {
    if (c.direct) {
      const file = path.isAbsolute(c.dataset) ? c.dataset : SAMPLE_DATASET; // hashed by the producer only
      const { record } = await submitRun(stack.runs, {
        dataset: c.dataset,
        datasetFile: file,
        params: c.params,
      });
      return { status: 202, run: await finalRecord(record.id) };
    }
    const body = c.body ?? JSON.stringify({ dataset: c.dataset, params: { ...c.params, cache: false } });
    const res = await call(stack, 'POST', '/runs', body);
    if (res.status !== 202) return { status: res.status, error: res.json.error };
    return { status: 202, run: await finalRecord(res.json.id as string) };
  }

  /** The run record, from GET /runs/:id, once the run is final. */
  async function finalRecord(id: string): Promise<Outcome['run']> {
    const deadline = Date.now() + 90_000;
    for (;;) {
      const res = await call(stack, 'GET', `/runs/${id}`);
      if (['completed', 'failed', 'cancelled'].includes(res.json.state)) return res.json;
      if (Date.now() > deadline) throw new Error(`run ${id} still ${res.json.state}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  for (const c of CASES) {
    it(c.name, { skip: c.skip }, async (t) => {
      if (cannot[c.dataset]) {
        skipped++;
        t.skip(cannot[c.dataset]);
        return;
      }
      tried++;
      const outcome = await outcomes.get(c.name)!;
      const shown = JSON.stringify({ status: outcome.status, error: outcome.error, run: outcome.run?.error });
      const messages = [outcome.error, outcome.run?.error?.message].filter((m) => m !== undefined);
      for (const m of messages) t.diagnostic(m!);
      for (const m of messages) assert.ok(!m!.includes(CANARY), `the message quotes the file: ${m}`);
      const where = c.where;
      if (where.at === 'api') {
        assert.equal(outcome.status, 400, shown);
        assert.match(outcome.error!, c.message!);
      } else if (where.at === 'pass') {
        assert.equal(outcome.status, 202, shown);
        assert.equal(outcome.run!.state, 'completed', shown);
      } else {
        assert.equal(outcome.status, 202, shown);
        const run = outcome.run!;
        assert.equal(run.state, 'failed', shown);
        assert.equal(run.error?.stage, where.stage, shown);
        assert.match(run.error!.message, c.message!);
        const stage = run.stages.find((s) => s.stage === where.stage)!;
        assert.equal(stage.state, 'failed');
        assert.equal(stage.attemptsMade, 1, `${where.stage} made ${stage.attemptsMade} attempts: ${shown}`);
      }
      passing++;
    });
  }

  it('tried at least 40 cases', (t) => {
    skipped += CASES.filter((c) => c.skip).length;
    t.diagnostic(
      `bad-input corpus: ${CASES.length} cases, ${tried} tried, ${passing} passing, ${skipped} skipped`,
    );
    assert.ok(tried >= 40, `${tried} cases tried`);
    assert.equal(passing, tried);
  });
});
