/** `when`, `unless`: a value or `''` by a condition (SPEC §9.8). */
import { toBool } from '../values.js';
import { arg, functionTable } from './common.js';

export const whenFunctions = functionTable({
  when: (args) => (toBool(arg(args, 0) ?? null) ? (arg(args, 1) ?? null) : ''),
});

export const unlessFunctions = functionTable({
  unless: (args) => (toBool(arg(args, 0) ?? null) ? '' : (arg(args, 1) ?? null)),
});
