import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  formatNewMemory,
  measureNewMemory,
  memoryBetween,
  memoryCounters,
} from '../../tools/bench/machine-memory';

const NO_VMSTAT = fs.existsSync('/proc/vmstat') ? false : 'no /proc/vmstat on this machine (not Linux)';

describe("the bench's view of the machine's memory", () => {
  it('reads the page-cache, allocation and fault counters, and nothing from a file without them', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticketflow-vmstat-'));
    try {
      const file = path.join(dir, 'vmstat');
      fs.writeFileSync(
        file,
        'nr_free_pages 5\nnr_dirtied 300\npgalloc_dma 2\npgalloc_dma32 10\npgalloc_normal 500\npgfault 77\n',
      );
      assert.deepEqual(memoryCounters(file), { dirtied: 300, allocated: 512, faults: 77 });
      fs.writeFileSync(file, 'nr_free_pages 5\n');
      assert.equal(memoryCounters(file), null);
      assert.equal(memoryCounters(path.join(dir, 'missing')), null);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    // 256 pages of 4 KiB are 1 MB.
    assert.deepEqual(
      memoryBetween(
        { dirtied: 0, allocated: 1000, faults: 5 },
        { dirtied: 2560, allocated: 1512, faults: 9 },
      ),
      { pageCacheWrittenMb: 10, allocatedMb: 2, faults: 4 },
    );
    assert.equal(memoryBetween(null, { dirtied: 0, allocated: 0, faults: 0 }), null);
  });

  it('counts a file written and new memory touched on this machine', { skip: NO_VMSTAT }, () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticketflow-vmstat-'));
    try {
      const before = memoryCounters();
      assert.ok(before, '/proc/vmstat has nr_dirtied, pgalloc_* and pgfault');
      // 16 MB of new file pages, then 64 MB of new memory, faulted in a page at a time.
      fs.writeFileSync(path.join(dir, 'bytes'), Buffer.alloc(16 * 2 ** 20, 1));
      const ms = measureNewMemory(64);
      const use = memoryBetween(before, memoryCounters())!;
      // Lower bounds: other processes may dirty, allocate and fault meanwhile too.
      assert.ok(use.pageCacheWrittenMb >= 16, `${use.pageCacheWrittenMb} MB written`);
      assert.ok(use.allocatedMb >= 64, `${use.allocatedMb} MB allocated`);
      assert.ok(use.faults > 0);
      assert.ok(ms >= 0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    assert.equal(
      formatNewMemory(120, 950, 256),
      'new memory (256 MB touched a page at a time; lower is faster): 120 ms before the runs, 950 ms after',
    );
  });
});
