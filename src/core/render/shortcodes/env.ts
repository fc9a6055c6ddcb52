/**
 * The narrow set of capabilities shortcode handlers get from the rendering stage. Every read of
 * other entries, files or the registry goes through here, so the §11 rules (no tokens, no `_` fields,
 * project-only files, depth limits) are applied in one place and no handler can reach around them.
 */

/** A path-addressed map: the entry being rendered (`field`) or the request's variables (`var`). */
export interface PathScope {
  get(path: string): unknown;
  has(path: string): boolean;
  set(path: string, value: unknown): void;
  delete(path: string): void;
}

export interface RequestFacts {
  /** `http[s]://host[:port]` of the request, or '' outside HTTP (the CLI). */
  origin: string;
  /** The request path and query string, e.g. `/api/v1/entries?id=a`, or ''. */
  uri: string;
}

export interface ShortcodeEnv {
  /** The effective settings tree (read-only), for switches and URL settings. */
  setting(path: string): unknown;
  /** A registry value; undefined when missing (secrets are never there). */
  registryGet(key: string): unknown;
  /** A rendered entry or collection as content sees it (§11); undefined when missing or empty. */
  fetchEntry(id: string, options: Record<string, unknown>): Promise<unknown>;
  hasEntry(id: string): Promise<boolean>;
  /** A project file's text (§11.1 confinement); undefined when it is missing or not allowed. */
  readProjectFile(path: string): Promise<string | undefined>;
  /** A file's data decoded by its extension, as the `fetch` shortcode needs; undefined when missing. */
  fetchFile(path: string): Promise<unknown>;
  /** The entry being rendered. */
  readonly field: PathScope;
  /** Variables shared by everything rendered in this request. */
  readonly vars: PathScope;
  /** Evaluates one expression without entry variables (if/when/unless/calc/eval). */
  evaluate(expression: string): Promise<unknown>;
  markdown(text: string): string;
  textile(text: string): string;
  /** Applies one `strings` operation; undefined when the name is not an operation. */
  stringsOperation(text: string, name: string, args: string[]): string | undefined;
  /** PHP `date()` formatting of now in the configured time zone. */
  formatDate(format: string): string;
  translate(key: string, values: Record<string, string>, locale: string | null): string;
  constant(name: string): string;
  randomUuid(): string;
  /** The answer depends on time or chance: it must not be cached. */
  markVolatile(): void;
  readonly request: RequestFacts;
}
