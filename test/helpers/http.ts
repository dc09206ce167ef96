import { Stack } from './stack';

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
