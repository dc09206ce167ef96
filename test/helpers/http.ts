import assert from 'node:assert/strict';
import { Stack, waitForRun } from './stack';

/** One HTTP request to a test stack's API: a string body is sent as it is (bad JSON too), others as JSON. */
export async function call(
  stack: Pick<Stack, 'baseUrl'>,
  method: string,
  route: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: any }> {
  const res = await fetch(`${stack.baseUrl}${route}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

/** POST /runs for `dataset` in the stack's data root, waited for: the id of the run, which must complete. */
export async function completedRun(stack: Stack, dataset = 'sample.json'): Promise<string> {
  const res = await call(stack, 'POST', '/runs', { dataset });
  assert.equal(res.status, 202, JSON.stringify(res.json));
  const record = await waitForRun(stack.runs, res.json.id);
  assert.equal(record.state, 'completed', JSON.stringify(record.error));
  return record.id;
}
