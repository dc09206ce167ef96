import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { once } from 'node:events';
import { readTickets } from '../../shared/core/dataset/read-tickets';

/**
 * Write the dataset `factor` times over as JSON Lines of Kaggle-schema hits with distinct ids
 * ("<id>-r<k>"), for benchmarks at a multiple of a real dataset's size. Empty narratives are left out.
 */
export async function scaleDataset(source: string, factor: number, out: string): Promise<number> {
  const records: { id: string; narrative: string; product: string; subProduct: string | null }[] = [];
  await readTickets(source, (r) => {
    records.push({
      id: r.id ?? String(r.index),
      narrative: r.narrative,
      product: r.product,
      subProduct: r.subProduct,
    });
  });
  const stream = fs.createWriteStream(out);
  for (let k = 0; k < factor; k++) {
    for (const r of records) {
      const hit = {
        _id: `${r.id}-r${k}`,
        _source: { complaint_what_happened: r.narrative, product: r.product, sub_product: r.subProduct },
      };
      if (!stream.write(JSON.stringify(hit) + '\n')) await once(stream, 'drain');
    }
  }
  stream.end();
  await once(stream, 'finish');
  // On disk before the measured run starts, as a dataset a run is given has long been: at 100× the 2.5 GB
  // still being written back would hold up the run's own writes (the kernel throttles writers once this
  // much is dirty), a cost of the bench, not of the pipeline.
  const file = await fsp.open(out, 'r+');
  try {
    await file.datasync();
  } finally {
    await file.close();
  }
  return records.length * factor;
}
