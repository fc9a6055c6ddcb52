/** bcrypt hashing of access tokens (PHP's $2y$ hashes verify too), and random token strings. */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';

/** 32 lowercase hex characters from a cryptographically secure source. */
export function generateToken(bytes = 16): string {
  return randomBytes(bytes).toString('hex');
}

export function hashSecret(secret: string, rounds: number): Promise<string> {
  return bcrypt.hash(secret, rounds);
}

export async function verifySecret(secret: string, hash: string): Promise<boolean> {
  if (!/^\$2[abxy]\$\d{2}\$[./A-Za-z0-9]{53}$/.test(hash)) return false;
  try {
    return await bcrypt.compare(secret, hash);
  } catch {
    return false;
  }
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

  constructor(private readonly maxSize = 10_000) {}

  private key(token: string, secret: string, hash: string): Buffer {
    return createHash('sha256').update(token).update('\0').update(secret).update('\0').update(hash).digest();
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
