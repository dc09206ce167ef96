/** A handler's answer, independent of the HTTP framework, and the answers for errors a request causes. */

export interface HandlerResult {
  status: number;
  body: unknown;
}

/** An answer with `{error: message}` as its body. */
export const errorResult = (status: number, message: string): HandlerResult => ({
  status,
  body: { error: message },
});

type ErrorClass = abstract new (...args: never[]) => Error;

/** Error classes a handler answers with a fixed status and the error's message; the first match wins. */
export type ErrorStatuses = ReadonlyArray<readonly [ErrorClass, number]>;

/** The answer for `err` by its class in `statuses`; an error of no class listed is rethrown (a 500). */
export function answerError(err: unknown, statuses: ErrorStatuses): HandlerResult {
  for (const [errorClass, status] of statuses)
    if (err instanceof errorClass) return errorResult(status, err.message);
  throw err;
}
