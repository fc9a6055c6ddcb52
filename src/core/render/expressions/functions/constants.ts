/**
 * `const`/`constant`: an allowlist (SPEC §11.3). The reference reveals install paths through
 * FLEXTYPE_ROOT_DIR and friends; here every other name is `''`.
 */
import { formatNumber } from '../values.js';
import { functionTable, textArg } from './common.js';

const CONSTANTS = new Map<string, string | number>([
  ['PHP_EOL', '\n'],
  ['DIRECTORY_SEPARATOR', '/'],
  ['M_PI', Math.PI],
  ['M_E', Math.E],
  ['FLEXTYPE_PROJECT_NAME', 'project'],
]);

const constant = (name: string) => CONSTANTS.get(name) ?? '';

/** A constant as text (the `const` shortcode): numbers as PHP prints floats. */
export function constantText(name: string): string {
  const value = constant(name);
  return typeof value === 'number' ? formatNumber(value) : value;
}

export const constFunctions = functionTable({
  const: (args) => constant(textArg(args, 0, 'const')),
  constant: (args) => constant(textArg(args, 0, 'constant')),
});
