/**
 * Requests and responses as this server's handlers see them, on plain `node:http`: the part of
 * Express the exporter used (chainable `status`/`set`/`type`/`send`, middlewares that call `next`,
 * routes by path, one error handler), without Express, whose import cost 6 MB of RSS on Node.js 24
 * for a server of eight paths.
 *
 * Paths match as Express matched them: on the raw path (no query, nothing decoded), ignoring case,
 * with or without one trailing slash; a `:name` segment is percent-decoded, and one that is not
 * valid percent-encoding is a 400 error passed to the error handler.
 */
import type http from 'node:http';
import { parse as parseQuery, type ParsedUrlQuery } from 'node:querystring';
import { http as nodeHttp } from './node-http.js';

export interface Request extends http.IncomingMessage {
  /** The query string, parsed as `node:querystring` does (a repeated name gives an array). */
  query: ParsedUrlQuery;
  /** The route's `:name` segments, percent-decoded. */
  params: Record<string, string>;
}

/** Short names `type` takes, as Express gave them. */
const SHORT_TYPES: Readonly<Record<string, string>> = { html: 'text/html', json: 'application/json' };

/** Express's (mime-types') rule: text and JSON bodies say their charset. */
function withCharset(type: string): string {
  if (/;\s*charset=/i.test(type)) return type;
  return /^(text\/|application\/json\b)/i.test(type) ? `${type}; charset=utf-8` : type;
}

export class Response extends nodeHttp.ServerResponse<Request> {
  status(code: number): this {
    this.statusCode = code;
    return this;
  }

  /** Sets a header; a Content-Type of text or JSON gets `charset=utf-8` unless it names one. */
  set(name: string, value: string): this {
    this.setHeader(name, name.toLowerCase() === 'content-type' ? withCharset(value) : value);
    return this;
  }

  /** Sets the Content-Type: a full type, or `html` / `json`. */
  type(type: string): this {
    return this.set('Content-Type', SHORT_TYPES[type] ?? type);
  }

  /** Ends the response with `body` and its Content-Length (HTML when no type was set); HEAD gets the headers only. */
  send(body: string): this {
    const type = this.getHeader('Content-Type');
    this.set('Content-Type', typeof type === 'string' ? type : 'text/html');
    this.setHeader('Content-Length', String(Buffer.byteLength(body, 'utf8')));
    if (this.req.method === 'HEAD') this.end();
    else this.end(body, 'utf8');
    return this;
  }
}

type Next = (error?: unknown) => void;
export type RequestHandler = (req: Request, res: Response, next: Next) => unknown;
/** Answers a request that a handler failed: a thrown or rejected error, or one passed to `next`. */
export type ErrorHandler = (error: unknown, req: Request, res: Response) => void;

/** A 4xx error of the request itself (Express's `status` property), e.g. a path that does not decode. */
class ClientRequestError extends Error {
  constructor(
    message: string,
    readonly status: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'ClientRequestError';
  }
}

interface Route {
  pattern: RegExp;
  names: string[];
  handlers: RequestHandler[];
}

function compile(path: string): Pick<Route, 'pattern' | 'names'> {
  const names: string[] = [];
  const source = path
    .split('/')
    .map((segment) => {
      if (!segment.startsWith(':')) return segment.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
      names.push(segment.slice(1));
      return '([^/]+)';
    })
    .join('/');
  return { pattern: new RegExp(`^${source}/?$`, 'i'), names };
}

/** The request target's path: up to the query or fragment, as it came (absolute-form: its path). */
function pathOf(url: string): string {
  const end = url.search(/[?#]/);
  const target = end === -1 ? url : url.slice(0, end);
  if (target.startsWith('/')) return target;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\/[^/]*/i.exec(target);
  return scheme === null ? target : target.slice(scheme[0].length) || '/';
}

function queryOf(url: string): ParsedUrlQuery {
  const start = url.indexOf('?');
  if (start === -1) return {};
  const end = url.indexOf('#', start);
  return parseQuery(url.slice(start + 1, end === -1 ? undefined : end));
}

/**
 * The middlewares (`use`, every request, in order), the routes (`route`, the first whose path
 * matches; its handlers in order), then `notFound`; `onError` answers any failure. `listener()`
 * is the `node:http` request listener.
 */
export class Router {
  private readonly middlewares: RequestHandler[] = [];
  private readonly routes: Route[] = [];

  constructor(
    private readonly notFound: RequestHandler,
    private readonly onError: ErrorHandler,
  ) {}

  use(...handlers: RequestHandler[]): this {
    this.middlewares.push(...handlers);
    return this;
  }

  /** Every method: the handlers check it themselves. */
  route(paths: string | readonly string[], ...handlers: RequestHandler[]): this {
    for (const path of typeof paths === 'string' ? [paths] : paths) this.routes.push({ ...compile(path), handlers });
    return this;
  }

  listener(): (req: http.IncomingMessage, res: http.ServerResponse) => void {
    return (incoming, outgoing) => {
      Object.setPrototypeOf(outgoing, Response.prototype);
      const req = incoming as Request;
      const res = outgoing as Response;
      const url = req.url ?? '/';
      req.query = queryOf(url);
      req.params = {};
      this.dispatch(req, res, pathOf(url));
    };
  }

  private dispatch(req: Request, res: Response, path: string): void {
    let chain: RequestHandler[] = this.middlewares;
    let index = 0;
    let routed = false;
    const fail = (error: unknown): void => this.onError(error, req, res);
    const next: Next = (error) => {
      if (error !== undefined) {
        fail(error);
        return;
      }
      if (index === chain.length && !routed) {
        routed = true;
        chain = this.handlersFor(req, path);
        index = 0;
      }
      const handler = chain[index++];
      if (handler === undefined) return;
      try {
        const result = handler(req, res, next);
        if (result instanceof Promise) result.catch(fail);
      } catch (error) {
        fail(error);
      }
    };
    next();
  }

  /** The matching route's handlers with its params set, or the 404 handler; throws for a param that does not decode. */
  private handlersFor(req: Request, path: string): RequestHandler[] {
    for (const route of this.routes) {
      const match = route.pattern.exec(path);
      if (match === null) continue;
      try {
        route.names.forEach((name, i) => (req.params[name] = decodeURIComponent(match[i + 1] as string)));
      } catch (error) {
        return [
          (_req, _res, next) =>
            next(new ClientRequestError('a path segment is not valid percent-encoding', 400, { cause: error })),
        ];
      }
      return route.handlers;
    }
    return [this.notFound];
  }
}
