// A small cookie-keeping HTTP client for the demo tests: follows redirects by hand and keeps
// cookies per origin, so the login flow is exercised as a browser would walk it.

export interface Page {
  status: number;
  url: string;
  body: string;
  headers: Headers;
  /** Every URL requested, in order, including the redirects. */
  hops: string[];
}

export class Browser {
  readonly jar = new Map<string, Map<string, string>>();

  cookies(origin: string): Map<string, string> {
    let m = this.jar.get(origin);
    if (m === undefined) {
      m = new Map();
      this.jar.set(origin, m);
    }
    return m;
  }

  private store(origin: string, res: Response): void {
    for (const sc of res.headers.getSetCookie()) {
      const [pair = '', ...attrs] = sc.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a));
      if (expired) this.cookies(origin).delete(name);
      else this.cookies(origin).set(name, value);
    }
  }

  async go(
    url: string,
    init: { method?: string; form?: Record<string, string>; follow?: boolean } = {},
  ): Promise<Page> {
    const hops: string[] = [];
    let method = init.method ?? 'GET';
    let body: string | undefined = init.form === undefined ? undefined : new URLSearchParams(init.form).toString();
    let current = url;
    for (let i = 0; i < 10; i++) {
      hops.push(current);
      const origin = new URL(current).origin;
      const jar = this.cookies(origin);
      const headers: Record<string, string> = {};
      if (jar.size > 0) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
      if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
      const res = await fetch(current, { method, headers, redirect: 'manual', ...(body === undefined ? {} : { body }) });
      this.store(origin, res);
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location !== null && init.follow !== false) {
        await res.arrayBuffer();
        current = new URL(location, current).toString();
        // As browsers do for 302 and 303: the next request is a GET without a body.
        method = 'GET';
        body = undefined;
        continue;
      }
      return { status: res.status, url: current, body: await res.text(), headers: res.headers, hops };
    }
    throw new Error(`too many redirects from ${url}`);
  }
}

export function csrfOf(html: string): string {
  const m = /name="csrf" value="([^"]+)"/.exec(html);
  if (m?.[1] === undefined) throw new Error('no csrf field in the page');
  return m[1];
}
