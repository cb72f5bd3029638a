// Browser mode: the renderer and the backend API on 127.0.0.1 only, over HTTP + WebSocket.
// Every start makes a random token; the page and the socket both need it (else 403), so other
// local users and web pages cannot drive the lab.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { LabBackend, LabEvent } from './api.ts';
import { toApiError } from './backend.ts';
import { asError, guardBackend, type ErrorReporter } from './guarded-backend.ts';
import { dispatch, requestId, validateRequest } from './validate.ts';

export interface ServerOptions {
  backend: LabBackend;
  /** 0: a free port. */
  port?: number;
  /** The built renderer (index.html and assets). */
  staticDir: string;
  /** Told about a handler that failed (a bug in the lab, not bad input); default: a line on stderr. */
  onError?: ErrorReporter;
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
  '.map': 'application/json',
  '.ico': 'image/x-icon',
};

/** The Content-Type to send for a file, by its extension. */
export function contentType(file: string): string {
  return CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/** Sent with every response. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/**
 * Compares bytes, not characters: a token of the right length in UTF-16 units but not in UTF-8
 * bytes ("é" is one unit, two bytes) would make timingSafeEqual throw.
 */
export function tokenMatches(given: string | null, token: string): boolean {
  if (given === null) return false;
  const givenBytes = Buffer.from(given, 'utf8');
  const tokenBytes = Buffer.from(token, 'utf8');
  return givenBytes.length === tokenBytes.length && timingSafeEqual(givenBytes, tokenBytes);
}

/** The URL of a request target, or null when it is none (`http://[`, which the parser lets through). */
function requestUrl(target: string | undefined): URL | null {
  try {
    return new URL(target ?? '/', 'http://127.0.0.1');
  } catch {
    return null;
  }
}

/**
 * Only this server's own names: a page on another site that makes a name resolve to 127.0.0.1
 * (DNS rebinding) sends its own name as Host, and a foreign page's socket its own Origin.
 */
export function isLocalAuthority(value: string | undefined, port: number, withScheme: boolean): boolean {
  // No Origin: not a page in a browser (tests, curl); no Host: not HTTP/1.1 as anyone speaks it.
  if (value === undefined) return withScheme;
  const prefix = withScheme ? 'http://' : '';
  return value === `${prefix}127.0.0.1:${port}` || value === `${prefix}localhost:${port}`;
}

/** The file under staticDir for a URL path, or null (no escaping the folder). */
export function staticFile(staticDir: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0')) return null;
  const relative = decoded === '/' ? 'index.html' : decoded.replace(/^\/+/, '');
  const full = path.resolve(staticDir, relative);
  if (full !== path.resolve(staticDir) && !full.startsWith(path.resolve(staticDir) + path.sep)) return null;
  return existsSync(full) && statSync(full).isFile() ? full : null;
}

interface ServerContext {
  staticDir: string;
  token: string;
  /** The port once listening: Host and Origin must name it. */
  port(): number;
}

function answerRequest(req: http.IncomingMessage, res: http.ServerResponse, ctx: ServerContext): void {
  const headers = { 'Content-Security-Policy': CONTENT_SECURITY_POLICY, ...SECURITY_HEADERS };
  const plain = (status: number, text: string) => {
    res.writeHead(status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(req.method === 'HEAD' ? undefined : text);
  };
  if (!isLocalAuthority(req.headers.host, ctx.port(), false)) {
    plain(403, '403: this server answers only to 127.0.0.1\n');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    plain(405, '405: only GET\n');
    return;
  }
  const url = requestUrl(req.url);
  if (!url) {
    plain(400, '400: not a URL path\n');
    return;
  }
  // The page needs the token (however its path is spelt); its assets, loaded by the page
  // itself, do not carry it.
  const file = staticFile(ctx.staticDir, url.pathname);
  const isPage = url.pathname === '/' || file === path.resolve(ctx.staticDir, 'index.html');
  if (isPage && !tokenMatches(url.searchParams.get('token'), ctx.token)) {
    plain(403, '403: open the URL that `farfetchd-lab serve` printed (it carries the token)\n');
    return;
  }
  if (!file) {
    plain(
      404,
      existsSync(path.join(ctx.staticDir, 'index.html'))
        ? '404\n'
        : '404: the renderer is not built: run `npm run build:renderer`\n',
    );
    return;
  }
  res.writeHead(200, { ...headers, 'Content-Type': contentType(file) });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  // The file can go away between the check and the read (a renderer rebuild): end the response.
  const stream = createReadStream(file);
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}

/** Whether an upgrade request may open the API socket: its path, the token, Host and Origin. */
function upgradeAllowed(req: http.IncomingMessage, ctx: ServerContext): boolean {
  const url = requestUrl(req.url);
  return (
    url !== null &&
    url.pathname === '/api' &&
    tokenMatches(url.searchParams.get('token'), ctx.token) &&
    isLocalAuthority(req.headers.host, ctx.port(), false) &&
    isLocalAuthority(req.headers.origin, ctx.port(), true)
  );
}

function reportOnStderr(where: string, err: unknown): void {
  process.stderr.write(`farfetchd-lab serve: ${where} failed: ${asError(err).message}\n`);
}

/**
 * No handler can take the process down: each one catches what it throws, every socket and the
 * server have 'error' listeners, and the backend is reached through guardBackend(). A failure that
 * is the lab's own bug goes to `onError`; bad input just gets its answer (403, 405, 400, a
 * WebSocket close code, an EINVAL reply).
 */
export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  // Loaded here, not with the module: every other command (`exec` above all) would pay for
  // loading ws, a CommonJS package (≈ 40 ms of each CLI start, docs/benchmarks.md).
  const { WebSocketServer } = await import('ws');
  const token = randomBytes(24).toString('hex');
  const report = opts.onError ?? reportOnStderr;
  let port = 0;
  const ctx: ServerContext = { staticDir: opts.staticDir, token, port: () => port };
  const backend = guardBackend(opts.backend, report);
  const server = http.createServer((req, res) => {
    try {
      answerRequest(req, res, ctx);
    } catch (err) {
      report('an HTTP request', err);
      if (res.headersSent) res.destroy();
      else
        res.writeHead(500, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' }).end('500\n');
    }
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  // Only emitted when attached to a server, which this one is not; kept so that it never throws.
  wss.on('error', (err) => report('the WebSocket server', err));
  server.on('upgrade', (req, socket: Duplex, head: Buffer) => {
    // A peer that resets the connection during or after the handshake: nothing to answer.
    socket.on('error', () => socket.destroy());
    try {
      if (!upgradeAllowed(req, ctx)) {
        socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        // A bad frame from the client (opcode, masking, length, UTF-8) is an 'error' on its
        // socket, after which ws closes it with the matching close code itself.
        ws.on('error', () => undefined);
        try {
          serveClient(ws, backend);
        } catch (err) {
          report('a WebSocket client', err);
          ws.terminate();
        }
      });
    } catch (err) {
      report('a WebSocket upgrade', err);
      socket.destroy();
    }
  });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      server.on('error', (err) => report('the HTTP server', err));
      const address = server.address();
      port = typeof address === 'object' && address ? address.port : 0;
      resolve({
        url: `http://127.0.0.1:${port}/?token=${token}`,
        token,
        close: () =>
          new Promise<void>((done) => {
            for (const client of wss.clients) client.terminate();
            wss.close();
            server.close(() => done());
            server.closeAllConnections(); // keep-alive and half-open sockets too
          }),
      });
    });
  });
}

/**
 * One browser tab, one client of the backend: requests `{id, method, params}` → `{id, result}` |
 * `{id, error}`; events pushed as `{event}` (first the status, then the console's recent history).
 */
function serveClient(ws: WebSocket, backend: LabBackend): void {
  const send = (message: unknown) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
  };
  const client = backend.connect((event: LabEvent) => send({ event }));
  ws.on('close', () => client.close());
  ws.on('message', async (raw, isBinary) => {
    let message: unknown;
    try {
      if (isBinary) throw new SyntaxError('binary');
      message = JSON.parse(raw.toString());
    } catch {
      send({ id: null, error: { code: 'EINVAL', message: 'not JSON' } });
      return;
    }
    const id = requestId(message);
    try {
      const call = validateRequest(message);
      send({ id, result: (await dispatch(client.api, call)) ?? null });
    } catch (err) {
      send({ id, error: toApiError(err) });
    }
  });
}
