/**
 * An S3-protocol server for the multi-host demo (tools/demo/hosts.sh --storage s3): s3rver, its overwrites
 * made atomic as on S3, listening on one address and port with one bucket, until SIGTERM or SIGINT.
 * Its only account is S3RVER/S3RVER.
 *
 *   node dist/tools/demo/s3-server.js --address 10.77.0.6 --port 4568 --dir DIR --bucket ticketflow
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { S3Server } from '../../test/helpers/s3-server';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      address: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '4568' },
      dir: { type: 'string' },
      bucket: { type: 'string', default: 'ticketflow' },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new RangeError(`--port must be a port number, got "${values.port}"`);
  if (values.dir === undefined) throw new RangeError('--dir: the folder that holds the objects is required');
  fs.mkdirSync(values.dir, { recursive: true });
  const server = await new S3Server(values.bucket, {
    address: values.address,
    port,
    dir: values.dir,
  }).start();
  console.log(`s3rver at ${server.endpoint}, bucket ${server.bucket}, objects in ${server.dir}`);
  const stop = (): void => {
    void server.stop().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  console.error(`s3-server: ${(err as Error).message}`);
  process.exit(1);
});
