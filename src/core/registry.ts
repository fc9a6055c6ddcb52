/** The registry: a read-only tree of the running system's manifest and effective settings. */
import type { Manifest, Settings } from './settings.js';
import { getPath, hasPath, isPlainObject, type PlainObject } from './util.js';

/**
 * Keys that may hold secrets are never handed out by `exposed()`: any key whose name contains
 * secret, password, passwd, salt, private, credential, or ends in key, token or hash.
 */
const SECRET_KEY = /secret|passw(or)?d|salt|private|credential|(^|_|-)key$|apikey$|token$|hash$/i;

export function isSecretKey(name: string): boolean {
  return SECRET_KEY.test(name);
}

function withoutSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutSecrets);
  if (!isPlainObject(value)) return value;
  const out: PlainObject = {};
  for (const [key, child] of Object.entries(value)) {
    if (!isSecretKey(key)) out[key] = withoutSecrets(child);
  }
  return out;
}

export class Registry {
  private readonly tree: PlainObject;
  private readonly publicTree: PlainObject;

  constructor(manifest: Manifest, settings: Settings) {
    this.tree = { flextype: { manifest, settings } };
    this.publicTree = withoutSecrets(this.tree) as PlainObject;
  }

  has(id: string): boolean {
    return hasPath(this.tree, id);
  }

  get<T = unknown>(id: string): T | undefined {
    return getPath(this.tree, id) as T | undefined;
  }

  /** The value as clients may see it: undefined for missing or secret keys. */
  exposed(id: string): { found: boolean; value: unknown } {
    if (id.split('.').some(isSecretKey) || !hasPath(this.publicTree, id)) return { found: false, value: undefined };
    return { found: true, value: getPath(this.publicTree, id) };
  }
}
