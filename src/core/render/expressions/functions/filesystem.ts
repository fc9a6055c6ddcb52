/**
 * `filesystem()`: files and folders of the project only (SPEC §11.1), through ProjectFiles. Name
 * methods need no file (`file("1.txt").extension()` → `txt`); nothing here writes.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { frontmatterSerializer } from '../../../../storage/serializers/frontmatter.js';
import { parseJson, parseJson5 } from '../../../../storage/serializers/json.js';
import { parseYaml } from '../../../../storage/serializers/yaml.js';
import type { PathInfo } from '../../context.js';
import type { Env } from '../env.js';
import { ExprObject, fromPlain, type Value, type MethodTable } from '../values.js';
import { functionTable, methodTable, textArg } from './common.js';

const MIME = new Map<string, string>([
  ['txt', 'text/plain'], ['md', 'text/markdown'], ['html', 'text/html'], ['htm', 'text/html'], ['css', 'text/css'],
  ['js', 'text/javascript'], ['json', 'application/json'], ['json5', 'application/json5'], ['yaml', 'text/yaml'], ['yml', 'text/yaml'],
  ['xml', 'application/xml'], ['csv', 'text/csv'], ['svg', 'image/svg+xml'], ['png', 'image/png'], ['jpg', 'image/jpeg'],
  ['jpeg', 'image/jpeg'], ['gif', 'image/gif'], ['webp', 'image/webp'], ['pdf', 'application/pdf'], ['zip', 'application/zip'],
]);

const extensionOf = (p: string) => path.posix.extname(p).replace(/^\./, '');

/** A file's data by its extension (SPEC §9.5 `fetch`); other text: JSON if it is, else a one-item list. */
export function decodeFileData(file: string, text: string): Value {
  const extension = extensionOf(file).toLowerCase();
  try {
    if (extension === 'yaml' || extension === 'yml') return fromPlain(parseYaml(text));
    if (extension === 'md') return fromPlain(frontmatterSerializer.decode(text));
    if (extension === 'json5') return fromPlain(parseJson5(text));
    if (extension === 'json') return fromPlain(parseJson(text));
    return fromPlain(JSON.parse(text));
  } catch {
    return [text];
  }
}

class FileObject extends ExprObject {
  readonly kind = 'file';
  protected readonly methods: MethodTable = FILE_METHODS;
  constructor(readonly file: string) {
    super();
  }
  info(env: Env): Promise<PathInfo | undefined> {
    return env.ctx.files.stat(this.file);
  }
}

const fileInfo = async (self: FileObject, env: Env) => {
  const info = await self.info(env);
  return info?.kind === 'file' ? info : undefined;
};

const FILE_METHODS = methodTable<FileObject>({
  get: async (self, _args, env) => {
    const text = await env.ctx.files.readFile(self.file);
    return text === undefined ? false : env.budget.text(text, 'a file');
  },
  exists: async (self, _args, env) => (await fileInfo(self, env)) !== undefined,
  extension: (self) => extensionOf(self.file),
  basename: (self) => path.posix.basename(self.file),
  name: (self) => path.posix.basename(self.file, path.posix.extname(self.file)),
  size: async (self, _args, env) => (await fileInfo(self, env))?.size ?? false,
  lastModified: async (self, _args, env) => {
    const info = await fileInfo(self, env);
    return info ? Math.floor(info.mtimeMs / 1000) : false;
  },
  lastAccess: async (self, _args, env) => {
    const info = await fileInfo(self, env);
    return info ? Math.floor(info.atimeMs / 1000) : false;
  },
  mimeType: async (self, _args, env) =>
    (await fileInfo(self, env)) ? (MIME.get(extensionOf(self.file).toLowerCase()) ?? 'application/octet-stream') : false,
  type: async (self, _args, env) => {
    const info = await self.info(env);
    return info ? (info.kind === 'file' ? 'file' : 'dir') : false;
  },
  hash: async (self, _args, env) => {
    const text = await env.ctx.files.readFile(self.file);
    return text === undefined ? false : createHash('md5').update(text).digest('hex');
  },
  path: (self) => self.file,
  isFile: async (self, _args, env) => (await fileInfo(self, env)) !== undefined,
  isReadable: async (self, _args, env) => (await fileInfo(self, env)) !== undefined,
  isWritable: () => false,
});

class DirectoryObject extends ExprObject {
  readonly kind = 'directory';
  protected readonly methods: MethodTable = DIRECTORY_METHODS;
  constructor(readonly directory: string) {
    super();
  }
}

const directoryInfo = async (self: DirectoryObject, env: Env) => {
  const info = await env.ctx.files.stat(self.directory);
  return info?.kind === 'directory' ? info : undefined;
};

const DIRECTORY_METHODS = methodTable<DirectoryObject>({
  exists: async (self, _args, env) => (await directoryInfo(self, env)) !== undefined,
  size: async (self, _args, env) => (await directoryInfo(self, env))?.size ?? false,
  isDirectory: async (self, _args, env) => (await directoryInfo(self, env)) !== undefined,
  path: (self) => self.directory,
});

class FilesystemObject extends ExprObject {
  readonly kind = 'filesystem';
  protected readonly methods: MethodTable = FILESYSTEM_METHODS;
}

const FILESYSTEM_METHODS = methodTable<FilesystemObject>({
  file: (_self, args) => new FileObject(textArg(args, 0, 'file')),
  directory: (_self, args) => new DirectoryObject(textArg(args, 0, 'directory')),
  isAbsolute: (_self, args) => /^(?:\/|\\|[A-Za-z]:[\\/]|[a-z][a-z0-9+.-]*:\/\/)/i.test(textArg(args, 0, 'isAbsolute')),
  isWindowsPath: (_self, args) => /^[A-Za-z]:[\\/]|^\\\\/.test(textArg(args, 0, 'isWindowsPath')),
  isStream: (_self, args) => /^[a-z][a-z0-9+.-]*:\/\//i.test(textArg(args, 0, 'isStream')),
  glob: async (_self, args, env) => {
    const found = await env.ctx.files.glob(textArg(args, 0, 'glob'));
    env.budget.items(found.length, 'glob()');
    return found;
  },
});

export const filesystemFunctions = functionTable({
  filesystem: () => new FilesystemObject(),
});
