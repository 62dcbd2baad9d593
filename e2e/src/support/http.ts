/**
 * A small typed wrapper over `fetch` for black-box calls. It never throws on an HTTP
 * status: tests assert on `status`, `headers` and the parsed `body`.
 */

export type Query = Record<string, string | number | boolean | undefined>;

export interface HttpRequest {
  method?: string;
  path: string;
  /** Bearer token; omitted (or null) sends no Authorization header. */
  token?: string | null;
  /** A value sent as JSON (`application/json`). */
  json?: unknown;
  /** A raw body, sent as is (use `contentType` to label it). */
  body?: string | Uint8Array;
  contentType?: string;
  headers?: Record<string, string>;
  query?: Query;
  /** Aborts the request (e.g. `AbortSignal.timeout(ms)`); the call then rejects. */
  signal?: AbortSignal;
}

export interface HttpResponse<T> {
  status: number;
  headers: Headers;
  /** The raw body text. */
  text: string;
  /** The body parsed as JSON, or `undefined` when it is not JSON. */
  body: T;
}

export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined) params.append(key, String(value));
  }
  const qs = params.toString();
  return qs ? `${path}${path.includes('?') ? '&' : '?'}${qs}` : path;
}

export async function http<T = unknown>(baseUrl: string, req: HttpRequest): Promise<HttpResponse<T>> {
  const headers: Record<string, string> = { ...req.headers };
  if (req.token) headers['authorization'] = `Bearer ${req.token}`;
  let body: string | Uint8Array | undefined = req.body;
  if (req.json !== undefined) {
    body = JSON.stringify(req.json);
    headers['content-type'] ??= 'application/json';
  }
  if (req.contentType) headers['content-type'] = req.contentType;
  const res = await fetch(`${baseUrl}${withQuery(req.path, req.query)}`, {
    method: req.method ?? (body === undefined ? 'GET' : 'POST'),
    headers,
    body,
    ...(req.signal === undefined ? {} : { signal: req.signal }),
  });
  const text = await res.text();
  let parsed: unknown = undefined;
  if (text.length > 0 && /json/i.test(res.headers.get('content-type') ?? '')) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
  }
  return { status: res.status, headers: res.headers, text, body: parsed as T };
}

/** One caller of the API: a base URL and the bearer token it presents. */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    readonly token: string | null,
  ) {}

  request<T = unknown>(req: HttpRequest): Promise<HttpResponse<T>> {
    return http<T>(this.baseUrl, { token: this.token, ...req });
  }

  get<T = unknown>(path: string, query?: Query): Promise<HttpResponse<T>> {
    return this.request<T>({ method: 'GET', path, query });
  }

  post<T = unknown>(path: string, json?: unknown): Promise<HttpResponse<T>> {
    return this.request<T>({ method: 'POST', path, json: json ?? {} });
  }

  patch<T = unknown>(path: string, json: unknown): Promise<HttpResponse<T>> {
    return this.request<T>({ method: 'PATCH', path, json });
  }

  delete<T = unknown>(path: string): Promise<HttpResponse<T>> {
    return this.request<T>({ method: 'DELETE', path });
  }

  /** The same caller with another token (or none). */
  as(token: string | null): ApiClient {
    return new ApiClient(this.baseUrl, token);
  }
}

/** Runs `tasks` with at most `concurrency` of them in flight; results keep their order. */
export async function pool<T>(tasks: (() => Promise<T>)[], concurrency: number): Promise<T[]> {
  const results = new Array<T>(tasks.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < tasks.length) {
      const index = next++;
      results[index] = await tasks[index]();
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, tasks.length) }, () => worker()));
  return results;
}
