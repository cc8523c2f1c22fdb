import { checkAnswer, matchRoute } from '@xe/api-contract';
import { XeClient, type XeClientOptions } from '@xe/client';
import { type JsonValue, parseJson } from '@xe/core-types';

/** How many answers the suites in this process checked against the contract. */
export const contractChecks = { answers: 0 };

/**
 * Checks one answer of the node against `@xe/api-contract` (the source of the OpenAPI
 * document): the route it reached, its status, and its body by that status's schema.
 * Throws on an answer off the contract — or on a path the contract has no route for.
 */
export function checkContract(method: string, url: string, status: number, contentType: string, text: string): void {
  const { pathname } = new URL(url);
  const hit = matchRoute(method, pathname);
  if (hit === undefined) throw new Error(`${method} ${pathname}: no route of the contract`);
  if (status === 405) return; // a method the route does not serve is answered by the router
  const isJson = contentType.startsWith('application/json');
  let value: JsonValue | string = text;
  if (isJson) value = parseJson(text);
  const check = checkAnswer(hit.route, status, value);
  if (!check.ok) throw new Error(`answer off the contract: ${check.problem}\n${text.slice(0, 600)}`);
  contractChecks.answers++;
}

function methodOf(input: string | URL | Request, init?: RequestInit): string {
  return (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
}

function urlOf(input: string | URL | Request): string {
  return input instanceof Request ? input.url : String(input);
}

/**
 * `fetch`, with every answer checked by `checkContract` before the caller sees it (the body
 * is read here and handed on in a new Response). A drop-in for the suites' HTTP calls.
 */
export async function checkedFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  const res = await fetch(input, init);
  if (res.status === 101) return res;
  const contentType = res.headers.get('content-type') ?? '';
  if (contentType.startsWith('text/event-stream')) return res;
  const text = await res.text();
  checkContract(methodOf(input, init), urlOf(input), res.status, contentType, text);
  return new Response(res.status === 204 || res.status === 304 ? null : text, { status: res.status, statusText: res.statusText, headers: res.headers });
}

/** `@xe/client` over `checkedFetch`: its own answer checks plus the contract check of every raw answer. */
export function checkedClient(baseUrl: string, options: Omit<XeClientOptions, 'baseUrl' | 'fetch'> = {}): XeClient {
  return new XeClient({ ...options, baseUrl, fetch: checkedFetch as typeof fetch });
}
