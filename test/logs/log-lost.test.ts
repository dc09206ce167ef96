/** A failure a caller carries on after is still in a debug log, saying what was lost and why. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import winston from 'winston';
import { createLogger, logLost } from '../../shared/core/logger';

describe('logLost', () => {
  it('resolves to undefined and logs at debug what was lost and the cause', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      objectMode: true,
      write(info: Record<string, unknown>, _encoding, done) {
        lines.push(info);
        done();
      },
    });
    const log = createLogger(
      'debug',
      {},
      { transports: [new winston.transports.Stream({ stream: sink, level: 'debug' })] },
    );
    log.transports[0]!.silent = true;
    const result = await Promise.reject(new Error('EIO: disk gone')).catch(
      logLost('removing the temporary file /x/.a.tmp', log),
    );
    assert.equal(result, undefined);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.level, 'debug');
    assert.match(
      String(lines[0]!.message),
      /removing the temporary file \/x\/\.a\.tmp failed, carrying on: EIO: disk gone/,
    );
  });
});
