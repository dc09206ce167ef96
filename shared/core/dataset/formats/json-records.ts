/** JSON parsing and scanner errors as BadInputError naming the file, record and byte, never quoting the text. */
import { badInput } from '../../errors';
import { ScanError } from '../json-array-scanner';
import { describeJsonError } from '../json-error';

/** Runs a scanner step; its ScanError becomes BadInputError naming the file, record and byte offset. */
export function scanOrThrow<T>(scan: () => T, file: string): T {
  try {
    return scan();
  } catch (err) {
    if (err instanceof ScanError) {
      const where = `byte ${err.offset}`;
      const message = err.message.includes(where) ? err.message : `${err.message} (${where})`;
      throw badInput({ file, record: err.record }, message, err);
    }
    throw err;
  }
}

export function parseJson(text: string, file: string, record: number, offset: number): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    // V8's message may quote the text: say what and where instead (and keep it out of `cause`)
    const { reason, byte } = describeJsonError(err, text);
    throw badInput(
      { file, record },
      `not JSON at byte ${offset + byte} (the record starts at byte ${offset}): ${reason}`,
    );
  }
}
