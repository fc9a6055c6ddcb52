/**
 * The expression engine (SPEC §9.7, §9.8): parses (with a bounded cache of trees) and evaluates
 * one expression with the function groups the settings enable.
 */
import type { RenderContext } from '../context.js';
import { LimitError } from '../limits.js';
import type { Env } from './env.js';
import { collectionFunctions } from './functions/collection.js';
import { constFunctions } from './functions/constants.js';
import { csrfFunctions } from './functions/csrf.js';
import { dateFunctions } from './functions/date.js';
import { entriesFunctions, fetchFunctions } from './functions/entries.js';
import { filesystemFunctions } from './functions/filesystem.js';
import { i18nFunctions } from './functions/i18n.js';
import { unlessFunctions, whenFunctions } from './functions/logic.js';
import { mathFunctions } from './functions/math.js';
import { parsersFunctions } from './functions/parsers.js';
import { registryFunctions } from './functions/registry.js';
import { actionsFunctions, fieldFunctions, varFunctions } from './functions/scope-objects.js';
import { serializersFunctions } from './functions/serializers.js';
import { slugifyFunctions } from './functions/slugify.js';
import { stringsFunctions } from './functions/strings.js';
import { urlFunctions } from './functions/url.js';
import { Interpreter, type FunctionImpl } from './interpreter.js';
import { parseExpression, type Node } from './parser.js';
import { Scope } from './scope.js';
import type { Value } from './values.js';

/** The groups of `parsers.expressions.expressions.<name>` (SPEC §12), each switchable. */
const GROUPS: [string, [string, FunctionImpl][]][] = [
  ['math', mathFunctions], ['date', dateFunctions], ['actions', actionsFunctions], ['registry', registryFunctions],
  ['entries', entriesFunctions], ['fetch', fetchFunctions], ['filesystem', filesystemFunctions], ['i18n', i18nFunctions],
  ['serializers', serializersFunctions], ['parsers', parsersFunctions], ['slugify', slugifyFunctions],
  ['strings', stringsFunctions], ['collection', collectionFunctions], ['csrf', csrfFunctions], ['var', varFunctions],
  ['field', fieldFunctions], ['const', constFunctions], ['url', urlFunctions], ['when', whenFunctions], ['unless', unlessFunctions],
];

/** How deep `parsers().expressions().eval()` may nest (SPEC §11.9). */
export const MAX_EXPRESSION_NESTING = 64;

const NO_VARIABLES: ReadonlyMap<string, Value> = new Map();
const TREE_CACHE_SIZE = 2000;
const MAX_SOURCE_LENGTH = 65_536;

export function functionTableFor(setting: (path: string) => unknown): Map<string, FunctionImpl> {
  const table = new Map<string, FunctionImpl>();
  for (const [group, functions] of GROUPS) {
    const enabled = setting(`parsers.expressions.expressions.${group}.enabled`);
    if (enabled === false || enabled === 'false') continue;
    for (const [name, fn] of functions) table.set(name, fn);
  }
  return table;
}

export class ExpressionEngine {
  private readonly functions: Map<string, FunctionImpl>;
  private readonly trees = new Map<string, Node>();

  constructor(setting: (path: string) => unknown) {
    this.functions = functionTableFor(setting);
  }

  parse(source: string): Node {
    let tree = this.trees.get(source);
    if (!tree) {
      if (source.length > MAX_SOURCE_LENGTH) throw new LimitError(`an expression is longer than ${MAX_SOURCE_LENGTH} characters`);
      tree = parseExpression(source);
      if (this.trees.size >= TREE_CACHE_SIZE) this.trees.delete(this.trees.keys().next().value!);
      this.trees.set(source, tree);
    }
    return tree;
  }

  /** Evaluates one expression; throws ExpressionError or LimitError. */
  async evaluate(source: string, ctx: RenderContext, scope: Scope = new Scope(), variables: ReadonlyMap<string, Value> = NO_VARIABLES): Promise<Value> {
    const tree = this.parse(source);
    const env: Env = {
      budget: ctx.budget,
      ctx,
      scope,
      evaluate: async (inner) => {
        if (scope.depth >= MAX_EXPRESSION_NESTING) throw new LimitError(`expressions nested deeper than ${MAX_EXPRESSION_NESTING} levels`);
        scope.depth++;
        try {
          return await this.evaluate(inner, ctx, scope);
        } finally {
          scope.depth--;
        }
      },
    };
    return new Interpreter(this.functions, variables, env).evaluate(tree);
  }
}

export { Scope };
export { ExpressionError } from './errors.js';
export type { Value } from './values.js';
