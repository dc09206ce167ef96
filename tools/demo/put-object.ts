/**
 * Uploads a local file as one object of the store a URL names, streamed, through the project's own
 * ArtifactStore (credentials, region and endpoint from the usual variables: AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_REGION, TICKETFLOW_S3_ENDPOINT). The multi-host demo uses it to put the
 * dataset into the bucket.
 *
 *   node dist/tools/demo/put-object.js FILE s3://bucket/prefix NAME
 */
import fs from 'node:fs';
import { parseStoreUrl } from '../../shared/core/store/store-location';
import { openStore } from '../../shared/core/store/open-store';

async function main(): Promise<void> {
  const [file, url, name] = process.argv.slice(2);
  if (file === undefined || url === undefined || name === undefined)
    throw new RangeError('usage: put-object.js FILE STORE_URL NAME');
  const store = openStore(parseStoreUrl(url, process.env, 'STORE_URL'));
  try {
    const writer = await store.openWriter(name);
    try {
      for await (const chunk of fs.createReadStream(file)) await writer.write(chunk as Buffer);
      await writer.commit();
    } catch (err) {
      await writer.abort();
      throw err;
    }
    const stat = await store.stat(name);
    console.log(`put ${file} as ${store.url}/${name} (${stat?.size ?? '?'} bytes)`);
  } finally {
    await store.close();
  }
}

main().catch((err: unknown) => {
  console.error(`put-object: ${(err as Error).message}`);
  process.exit(1);
});
