/**
 * bcrypt hashing of access tokens (PHP's $2y$ hashes verify too), and random token strings.
 * bcrypt runs in a small pool of worker threads: on the main thread, a burst of wrong access tokens
 * stalled every other request (hundreds of ms of CPU each, back to back).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Tinypool from 'tinypool';
import type { BcryptTask } from './bcrypt-worker.js';

/** 32 lowercase hex characters from a cryptographically secure source. */
export function generateToken(bytes = 16): string {
  return randomBytes(bytes).toString('hex');
}

export const BCRYPT_SHAPE = /^\$2[abxy]\$(\d{2})\$[./A-Za-z0-9]{53}$/;

/** The cost (log2 rounds) of a well-formed bcrypt hash, else undefined. */
export function costOf(hash: string): number | undefined {
  const match = BCRYPT_SHAPE.exec(hash);
  return match ? Number(match[1]) : undefined;
}

// Run from source (tsx) this module is hash.ts and the worker its sibling .ts; built, both are .js.
const FROM_SOURCE = path.extname(fileURLToPath(import.meta.url)) === '.ts';
const WORKER_FILE = new URL(`./bcrypt-worker${FROM_SOURCE ? '.ts' : '.js'}`, import.meta.url);

/**
 * Node 20 does not carry tsx's loader into worker threads (tsx registers on the main thread only),
 * so from source each worker registers it first. Built code needs nothing.
 */
function workerExecArgv(): string[] | undefined {
  if (!FROM_SOURCE) return undefined;
  let api: string;
  try {
    api = import.meta.resolve('tsx/esm/api');
  } catch {
    return undefined; // another TypeScript loader: let the workers inherit the process's flags
  }
  const boot = `import { register } from ${JSON.stringify(api)}; register();`;
  return [...process.execArgv, '--import', `data:text/javascript,${encodeURIComponent(boot)}`];
}

let pool: Tinypool | undefined;
/** Rejecters of the tasks under way, so that a pool whose workers cannot start fails them instead of hanging. */
const underWay = new Set<(err: Error) => void>();

/**
 * One pool per process, shared by every server in it, sized to the cores. Idle workers are unref'd
 * by the pool and exit after a while, so the pool never keeps the process alive.
 */
function bcryptPool(): Tinypool {
  if (pool) return pool;
  const created = new Tinypool({
    filename: WORKER_FILE.href,
    minThreads: 0,
    maxThreads: Math.max(1, os.availableParallelism()),
    idleTimeout: 30_000,
    execArgv: workerExecArgv(),
  });
  // Emitted when a worker fails to start (a task's own failure rejects that task): the pool would
  // wait for a worker forever, so fail what is under way and start afresh on the next task.
  created.on('error', (err: Error) => {
    if (pool === created) pool = undefined;
    for (const fail of [...underWay]) fail(err);
    void created.destroy().catch(() => {});
  });
  pool = created;
  return created;
}

function runBcrypt(task: BcryptTask): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const fail = (err: Error) => {
      underWay.delete(fail);
      reject(err);
    };
    underWay.add(fail);
    bcryptPool()
      .run(task)
      .then((result: unknown) => {
        underWay.delete(fail);
        resolve(result);
      }, fail);
  });
}

export async function hashSecret(secret: string, rounds: number): Promise<string> {
  const hash = await runBcrypt({ op: 'hash', secret, rounds });
  if (typeof hash !== 'string') throw new Error('the bcrypt worker answered no hash');
  return hash;
}

/** False for a wrong secret or a malformed hash; a failing worker is an error, never a "no". */
export async function verifySecret(secret: string, hash: string): Promise<boolean> {
  if (!BCRYPT_SHAPE.test(hash)) return false;
  return (await runBcrypt({ op: 'compare', secret, hash })) === true;
}

/**
 * Remembers successful verifications, so bcrypt's deliberate slowness is paid once per token and
 * secret. Keys are SHA-256 digests of (token, secret, hash): the secret is never kept in clear, and
 * a changed hash no longer matches. Failures are never remembered.
 */
export class VerifiedSecrets {
  private readonly verified = new Map<string, Buffer>();
  /** Verifications under way, by digest: concurrent first calls with one secret share one bcrypt run. */
  private readonly pending = new Map<string, Promise<boolean>>();
  /** bcrypt runs started (for tests: unknown and known tokens must cost the same). */
  runs = 0;

  constructor(private readonly maxSize = 10_000) {}

  private key(token: string, secret: string, hash: string): Buffer {
    return createHash('sha256').update(token).update('\0').update(secret).update('\0').update(hash).digest();
  }

  /** True when this secret was verified before for this token and hash (no bcrypt, no waiting). */
  knows(token: string, secret: string, hash: string): boolean {
    const known = this.verified.get(`${token}\0${hash}`);
    return known !== undefined && timingSafeEqual(known, this.key(token, secret, hash));
  }

  async verify(token: string, secret: string, hash: string): Promise<boolean> {
    const key = this.key(token, secret, hash);
    const slot = `${token}\0${hash}`;
    const known = this.verified.get(slot);
    if (known && timingSafeEqual(known, key)) return true;
    // Without this, N requests arriving together with a new token each paid a full bcrypt run.
    const digest = key.toString('base64');
    let running = this.pending.get(digest);
    if (!running) {
      this.runs++;
      running = verifySecret(secret, hash).finally(() => this.pending.delete(digest));
      this.pending.set(digest, running);
    }
    const ok = await running;
    if (ok) {
      if (this.verified.size >= this.maxSize) this.verified.clear();
      this.verified.set(slot, key);
    }
    return ok;
  }

  clear(): void {
    this.verified.clear();
  }
}
