import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Router } from '../../../src/lib/routing.js';

let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

async function serve(router: Router): Promise<(method: string, path: string) => Promise<Answer>> {
  server = createServer(router.listener());
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return (method, path) =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method, path, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.end();
    });
}

function router(errors: unknown[] = []): Router {
  return new Router(
    (_req, res) => res.status(404).type('text/plain').send('Not Found\n'),
    (error, _req, res) => {
      errors.push(error);
      res
        .status((error as { status?: number }).status ?? 500)
        .type('text/plain')
        .send('failed\n');
    },
  );
}

describe('Router', () => {
  it('matches paths as Express did: any case, one trailing slash, no decoding before matching', async () => {
    const ask = await serve(
      router().route(['/metrics', '/-/ready'], (_req, res) => res.type('text/plain').send('ok\n')),
    );
    for (const path of ['/metrics', '/METRICS', '/metrics/', '/-/ready?x=1', '/metrics#top'])
      expect((await ask('GET', path)).body, path).toBe('ok\n');
    for (const path of ['/metric%73', '/metrics//', '/metrics/x', '/'])
      expect(await ask('GET', path), path).toMatchObject({ status: 404, body: 'Not Found\n' });
  });

  it('decodes a :name segment, and passes a 400 to the error handler when it does not decode', async () => {
    const errors: unknown[] = [];
    const ask = await serve(
      router(errors).route('/a/:name', (req, res) => res.type('json').send(JSON.stringify(req.params))),
    );
    expect((await ask('GET', '/a/b%2Fc%20d')).body).toBe('{"name":"b/c d"}');
    expect(await ask('GET', '/a/%E0%A4%A')).toMatchObject({ status: 400, body: 'failed\n' });
    expect(errors).toHaveLength(1);
  });

  it('parses the query as node:querystring does', async () => {
    const ask = await serve(router().route('/q', (req, res) => res.type('json').send(JSON.stringify(req.query))));
    expect(JSON.parse((await ask('GET', '/q?a=1&a=2&b=x+y&c')).body)).toEqual({ a: ['1', '2'], b: 'x y', c: '' });
  });

  it('sends a charset with text and JSON, the length, and no body to HEAD', async () => {
    const ask = await serve(
      router()
        .route('/t', (_req, res) => res.type('text/plain').send('héllo\n'))
        .route('/h', (_req, res) => res.send('<p>x</p>'))
        .route('/j', (_req, res) => res.type('json').send('{}'))
        .route('/p', (_req, res) => res.set('Content-Type', 'text/plain; version=0.0.4').send('')),
    );
    const text = await ask('GET', '/t');
    expect(text.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(text.headers['content-length']).toBe('7');
    expect((await ask('GET', '/h')).headers['content-type']).toBe('text/html; charset=utf-8');
    expect((await ask('GET', '/j')).headers['content-type']).toBe('application/json; charset=utf-8');
    expect((await ask('GET', '/p')).headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const head = await ask('HEAD', '/t');
    expect(head).toMatchObject({ status: 200, body: '' });
    expect(head.headers['content-length']).toBe('7');
  });

  it('runs the middlewares in order before the route, and any failure reaches the error handler', async () => {
    const errors: unknown[] = [];
    const seen: string[] = [];
    const ask = await serve(
      router(errors)
        .use((_req, _res, next) => (seen.push('first'), next()))
        .use((req, res, next) => {
          seen.push('second');
          if (req.url === '/stop') res.status(401).type('text/plain').send('no\n');
          else next();
        })
        .route('/throws', () => {
          throw new Error('sync');
        })
        .route('/rejects', () => Promise.reject(new Error('async')))
        .route('/next', (_req, _res, next) => next(new Error('passed'))),
    );
    expect(await ask('GET', '/stop')).toMatchObject({ status: 401, body: 'no\n' });
    expect(seen).toEqual(['first', 'second']);
    for (const path of ['/throws', '/rejects', '/next']) expect((await ask('GET', path)).status, path).toBe(500);
    expect(errors.map((e) => (e as Error).message)).toEqual(['sync', 'async', 'passed']);
  });
});
