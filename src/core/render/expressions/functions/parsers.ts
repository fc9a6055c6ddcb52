/**
 * `parsers()`: markdown/textile/shortcodes parsers from the rendering stage, and expressions
 * evaluated by this interpreter (no variables, nesting bounded).
 */
import type { MarkupParsers } from '../../context.js';
import { runtimeError } from '../errors.js';
import { ExprObject, type MethodTable } from '../values.js';
import { functionTable, methodTable, textArg } from './common.js';

type MarkupName = keyof MarkupParsers;

class MarkupParserObject extends ExprObject {
  readonly kind = 'parser';
  protected readonly methods: MethodTable = MARKUP_METHODS;
  constructor(readonly name: MarkupName) {
    super();
  }
}

const MARKUP_METHODS = methodTable<MarkupParserObject>({
  parse: async (self, args, env) => {
    const parse = env.ctx.parsers?.[self.name];
    if (!parse) throw runtimeError(`the ${self.name} parser is not available here`);
    return env.budget.text(await parse(textArg(args, 0, 'parse')), `${self.name} parse()`);
  },
});

class ExpressionsParserObject extends ExprObject {
  readonly kind = 'parser';
  protected readonly methods: MethodTable = methodTable<ExpressionsParserObject>({
    eval: (_self, args, env) => env.evaluate(textArg(args, 0, 'eval')),
    evaluate: (_self, args, env) => env.evaluate(textArg(args, 0, 'evaluate')),
  });
}

class ParsersObject extends ExprObject {
  readonly kind = 'parsers';
  protected readonly methods: MethodTable = methodTable<ParsersObject>({
    markdown: () => new MarkupParserObject('markdown'),
    textile: () => new MarkupParserObject('textile'),
    shortcodes: () => new MarkupParserObject('shortcodes'),
    expressions: () => new ExpressionsParserObject(),
  });
}

export const parsersFunctions = functionTable({
  parsers: () => new ParsersObject(),
});
