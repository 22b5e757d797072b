/** A small HTTP API (node:http) that calls the calc orchestrator through a Pipeline. */
import http from 'node:http';
import { CallTimeoutError, RemoteError, type Pipeline } from '../../src';
import { TOPICS, type CalcRequest, type CalcResult } from './services';

function send(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** POST /calc {numbers, subtract, multiply} → the calc Reactor's result. */
export function createApi(pipeline: Pipeline, timeoutMs = 30000): http.Server {
  return http.createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/calc') return send(res, 404, { error: 'POST /calc only' });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: CalcRequest;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as CalcRequest;
      } catch {
        return send(res, 400, { error: 'body must be JSON' });
      }
      pipeline
        .request<CalcResult>(TOPICS.calc, body, { timeoutMs })
        .then((result) => send(res, 200, result))
        .catch((e: unknown) => {
          if (e instanceof CallTimeoutError) return send(res, 504, { error: e.message });
          if (e instanceof RemoteError) return send(res, 422, { error: e.remote });
          return send(res, 500, { error: String(e) });
        });
    });
  });
}
