/**
 * Several `flextype serve` processes on one PostgreSQL schema (each with its own project folder:
 * one server per folder), and a TCP proxy to put between a node and the database and cut.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ok, serve, stop, type Served } from './cli-helpers.js';
import { removeProject, tempProject } from './helpers.js';

/** A pass-through TCP proxy that can drop every connection and refuse new ones, then come back on the same port. */
export class TcpProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async open(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, this.targetHost);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  /** The database "goes away": connections dropped, new ones refused. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async close(): Promise<void> {
    await this.cut();
  }
}

export interface NodeOptions {
  url: string;
  schema: string;
  /** YAML lines added under `storage:` (indented by two spaces). */
  storageSettings?: string;
  /** YAML lines added to the settings (top-level keys). */
  extraSettings?: string;
}

export function projectFor(options: NodeOptions): string {
  const dir = tempProject(false);
  mkdirSync(path.join(dir, 'config', 'flextype'), { recursive: true });
  writeFileSync(
    path.join(dir, 'config', 'flextype', 'settings.yaml'),
    `storage:\n  engine: postgres\n  url: ${JSON.stringify(options.url)}\n  schema: ${options.schema}\n${options.storageSettings ?? ''}${options.extraSettings ?? ''}`,
  );
  return dir;
}

export class Cluster {
  readonly nodes: Served[] = [];
  readonly projects: string[] = [];

  async add(options: NodeOptions): Promise<Served> {
    const dir = projectFor(options);
    this.projects.push(dir);
    const node = await serve(dir);
    this.nodes.push(node);
    return node;
  }

  /** A token made by the CLI on the shared database. */
  async token(options: NodeOptions, flags: string[] = []): Promise<{ token: string; access_token: string }> {
    const dir = projectFor(options);
    this.projects.push(dir);
    return JSON.parse(await ok(['tokens:create', '--project', dir, '--json', ...flags])) as { token: string; access_token: string };
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((node) => stop(node.child)));
    for (const dir of this.projects) removeProject(dir);
  }
}

/** Polls `probe` until it answers true, at most `deadlineMs`; returns whether it did. */
export async function eventually(probe: () => Promise<boolean>, deadlineMs = 15_000, everyMs = 20): Promise<boolean> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    if (await probe().catch(() => false)) return true;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return false;
}
