/** What a function or method of an expression receives besides its arguments. */
import type { RenderContext } from '../context.js';
import type { RenderBudget } from '../limits.js';
import type { Scope } from './scope.js';
import type { Value } from './values.js';

export interface Env {
  readonly budget: RenderBudget;
  readonly ctx: RenderContext;
  /** Request-scoped state: fields of the entry being rendered, vars, actions. */
  readonly scope: Scope;
  /** Evaluates another expression with no variables (`parsers().expressions().eval()`). */
  evaluate(source: string): Promise<Value>;
}
