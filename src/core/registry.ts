/**
 * The registry: a read-only tree of the running system's manifest and effective settings, as
 * clients and content may read it (SPEC §5, §12). It is built by an allowlist: the settings the
 * schema documents (the reference's keys and ours), plus the keys `registry.public` names. Anything
 * else a project adds (credentials of a mail server, DSNs, API keys…) is never in the tree: no name
 * rule can recognise every secret, so none is attempted.
 */
import path from 'node:path';
import { documentedSettings, type Manifest, type Settings } from './settings.js';
import { deepFreeze, getPath, hasPath, setPath, type PlainObject } from './util.js';

/**
 * Settings that hold credentials: never in the tree, whatever `registry.public` lists. Webhook
 * endpoints carry secrets (and URLs that may); a database URL carries its password.
 */
const NEVER_SHOWN = ['webhooks', 'storage.url'];

const isNeverShown = (key: string) => NEVER_SHOWN.some((hidden) => key === hidden || key.startsWith(`${hidden}.`) || hidden.startsWith(`${key}.`));

function removePath(tree: PlainObject, dotPath: string): void {
  const parts = dotPath.split('.');
  let node: unknown = tree;
  for (const part of parts.slice(0, -1)) node = node !== null && typeof node === 'object' ? (node as PlainObject)[part] : undefined;
  if (node !== null && typeof node === 'object') delete (node as PlainObject)[parts[parts.length - 1]!];
}

/** The settings tree the registry answers: documented keys, the public extras, no absolute paths. */
function visibleSettings(settings: Settings): PlainObject {
  const visible = documentedSettings(settings) as PlainObject;
  for (const key of settings.registry.public) {
    if (!isNeverShown(key) && hasPath(settings, key)) setPath(visible, key, structuredClone(getPath(settings, key)));
  }
  for (const hidden of NEVER_SHOWN) removePath(visible, hidden);
  // The registry never tells where the server's files are (SPEC §12).
  if (path.isAbsolute(settings.entries.directory)) delete (visible['entries'] as PlainObject)['directory'];
  return visible;
}

export class Registry {
  private readonly tree: PlainObject;

  constructor(manifest: Manifest, settings: Settings) {
    this.tree = deepFreeze({ flextype: { manifest: structuredClone(manifest), settings: visibleSettings(settings) } });
  }

  has(id: string): boolean {
    return hasPath(this.tree, id);
  }

  /** A value of the public tree (undefined when missing): what content and clients may read. */
  get<T = unknown>(id: string): T | undefined {
    return getPath(this.tree, id) as T | undefined;
  }

  /** The value as clients may see it, and whether the key exists. */
  exposed(id: string): { found: boolean; value: unknown } {
    if (!hasPath(this.tree, id)) return { found: false, value: undefined };
    return { found: true, value: getPath(this.tree, id) };
  }
}
