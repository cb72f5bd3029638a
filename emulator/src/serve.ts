// Browser mode: the renderer and the backend API on 127.0.0.1 only, over HTTP + WebSocket.
// Every start makes a random token; the page and the socket both need it (else 403), so other
// local users and web pages cannot drive the lab.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import type { LabBackend, LabEvent } from './api.ts';
import { toApiError } from './backend.ts';
import { dispatch, validateCall } from './validate.ts';

export interface ServerOptions {
  backend: LabBackend;
  /** 0: a free port. */
  port?: number;
  /** The built renderer (index.html and assets). */
  staticDir: string;
}

export interface RunningServer {
  url: string;
  token: string;
  close(): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
  '.ico': 'image/x-icon',
};

export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

function tokenMatches(given: string | null, token: string): boolean {
  if (!given || given.length !== token.length) return false;
  return timingSafeEqual(Buffer.from(given), Buffer.from(token));
}

/** The file under staticDir for a URL path, or null (no escaping the folder). */
export function staticFile(staticDir: string, urlPath: string): string | null {
  const decoded = decodeURIComponent(urlPath);
  const relative = decoded === '/' ? 'index.html' : decoded.replace(/^\/+/, '');
  const full = path.resolve(staticDir, relative);
  if (full !== path.resolve(staticDir) && !full.startsWith(path.resolve(staticDir) + path.sep)) return null;
  return existsSync(full) && statSync(full).isFile() ? full : null;
}

export function startServer(opts: ServerOptions): Promise<RunningServer> {
  const token = randomBytes(24).toString('hex');
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const headers = {
      'Content-Security-Policy': CONTENT_SECURITY_POLICY,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-store',
    };
    // The page needs the token; its assets (loaded by the page itself) do not carry it.
    const isPage = url.pathname === '/' || url.pathname === '/index.html';
    if (isPage && !tokenMatches(url.searchParams.get('token'), token)) {
      res.writeHead(403, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('403: open the URL that `farfetchd-lab serve` printed (it carries the token)\n');
      return;
    }
    const file = req.method === 'GET' ? staticFile(opts.staticDir, url.pathname) : null;
    if (!file) {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(
        existsSync(path.join(opts.staticDir, 'index.html'))
          ? '404\n'
          : '404: the renderer is not built: run `npm run build:renderer`\n',
      );
      return;
    }
    res.writeHead(200, {
      ...headers,
      'Content-Type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream',
    });
    createReadStream(file).pipe(res);
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/api' || !tokenMatches(url.searchParams.get('token'), token)) {
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => serveClient(ws, opts.backend));
  });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      resolve({
        url: `http://127.0.0.1:${port}/?token=${token}`,
        token,
        close: () =>
          new Promise<void>((done) => {
            for (const client of wss.clients) client.terminate();
            wss.close();
            server.close(() => done());
          }),
      });
    });
  });
}

/** One browser tab: requests `{id, method, params}` → `{id, result}` | `{id, error}`; events pushed. */
function serveClient(ws: WebSocket, backend: LabBackend): void {
  const send = (message: unknown) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
  };
  const off = backend.onEvent((event: LabEvent) => send({ event }));
  ws.on('close', off);
  ws.on('message', async (raw) => {
    let id: unknown = null;
    try {
      const message = JSON.parse(raw.toString()) as { id?: unknown; method?: unknown; params?: unknown };
      id = message.id ?? null;
      const call = validateCall(message.method, message.params);
      send({ id, result: (await dispatch(backend, call)) ?? null });
    } catch (err) {
      send({
        id,
        error: err instanceof SyntaxError ? { code: 'EINVAL', message: 'not JSON' } : toApiError(err),
      });
    }
  });
  // A new tab sees the machine as it is now.
  backend
    .status()
    .then((status) => send({ event: { type: 'status', status } }))
    .catch(() => undefined);
}
