/**
 * Connection limits against slow or hoarding clients (slowloris): caps on open connections, in all
 * and per client address, enforced when a connection is accepted, and short header/request timeouts.
 */
import type { Server } from 'node:http';
import type { Settings } from '../core/settings.js';

/** Node's options for the timeouts (milliseconds), from the settings (seconds). */
export function timeoutOptions(settings: Settings): { headersTimeout: number; requestTimeout: number; keepAliveTimeout: number; connectionsCheckingInterval: number } {
  const headersTimeout = Math.round(settings.server.headers_timeout * 1000);
  const requestTimeout = Math.round(settings.server.request_timeout * 1000);
  const shortest = requestTimeout > 0 ? Math.min(headersTimeout || requestTimeout, requestTimeout) : headersTimeout;
  return {
    headersTimeout,
    requestTimeout,
    keepAliveTimeout: Math.round(settings.server.keep_alive_timeout * 1000),
    // Node enforces both timeouts only when it sweeps its connections (every 30 s by default), so a
    // timeout would otherwise be up to 30 s late. A sweep walks the open connections: cheap.
    connectionsCheckingInterval: Math.min(5000, Math.max(100, Math.floor((shortest || 30_000) / 4))),
  };
}

/** Closes connections beyond the caps as soon as they are accepted, before any byte is read. */
export function limitConnections(server: Server, settings: Settings): void {
  const total = settings.server.max_connections;
  if (total > 0) server.maxConnections = total; // net.Server closes the excess at accept
  // Behind a proxy every connection comes from the proxy's address: a per-address cap would cap all
  // clients together, so it is the proxy's job then.
  const perAddress = settings.server.trust_proxy === false ? settings.server.max_connections_per_address : 0;
  if (perAddress <= 0) return;
  const open = new Map<string, number>();
  server.on('connection', (socket) => {
    const address = socket.remoteAddress;
    if (address === undefined) {
      socket.destroy(); // already gone
      return;
    }
    const count = open.get(address) ?? 0;
    if (count >= perAddress) {
      socket.destroy();
      return;
    }
    open.set(address, count + 1);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left === 0) open.delete(address);
      else open.set(address, left);
    });
  });
}
