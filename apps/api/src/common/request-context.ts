import { AsyncLocalStorage } from 'node:async_hooks';

/** What is known about the request being served, reachable from any code it calls. */
export interface RequestContext {
  requestId: string;
}

export const requestContext = new AsyncLocalStorage<RequestContext>();

export function currentRequestId(): string | undefined {
  return requestContext.getStore()?.requestId;
}
