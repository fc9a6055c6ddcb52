/**
 * The six directives of SPEC §9.2 on one string leaf, always in the reference's order:
 * expressions → shortcodes → markdown → textile → php (never run) → types.
 */
import { applyTypeDirective, phpTrim } from './types.js';

export interface DirectiveSwitches {
  expressions: { enabled: boolean; globally: boolean };
  /** `openTag`: the shortcode opening tag (`parsers.shortcodes.opening_tag`), for the cheap test. */
  shortcodes: { enabled: boolean; globally: boolean; openTag: string };
  markdown: { enabled: boolean; globally: boolean };
  textile: { enabled: boolean; globally: boolean };
  types: { enabled: boolean };
}

/** What the directives call to do their work on one leaf (bound to the entry being rendered). */
export interface DirectiveWork {
  expressions(text: string): Promise<string>;
  shortcodes(text: string): Promise<string>;
  markdown(text: string): string;
  textile(text: string): string;
}

function on(setting: unknown, fallback: boolean): boolean {
  return setting === undefined ? fallback : setting === true;
}

/** Reads the switches once from the settings (`entries.directives.*`). */
export function directiveSwitches(setting: (path: string) => unknown): DirectiveSwitches {
  const pair = (name: string, globally: boolean) => ({
    enabled: on(setting(`entries.directives.${name}.enabled`), true),
    globally: on(setting(`entries.directives.${name}.enabled_globally`), globally),
  });
  return {
    expressions: pair('expressions', true),
    shortcodes: { ...pair('shortcodes', true), openTag: String(setting('parsers.shortcodes.opening_tag') ?? '(') },
    markdown: pair('markdown', false),
    textile: pair('textile', false),
    types: { enabled: on(setting('entries.directives.types.enabled'), true) },
  };
}

/** Cheap test: could any directive change this text? (Most plain fields skip all the work.) */
export function mayRender(text: string, switches: DirectiveSwitches, openTags: readonly string[]): boolean {
  if (switches.expressions.enabled && switches.expressions.globally && openTags.some((tag) => text.includes(tag))) return true;
  if (switches.shortcodes.enabled && (switches.shortcodes.globally ? text.includes(switches.shortcodes.openTag) : text.includes('@shortcodes'))) return true;
  if (switches.markdown.enabled && (switches.markdown.globally || text.includes('@markdown'))) return true;
  if (switches.textile.enabled && (switches.textile.globally || text.includes('@textile'))) return true;
  return switches.types.enabled && text.includes('@type[');
}

/** A marker-triggered directive renders the whole text, then drops every marker and trims. */
async function markerOrGlobal(
  text: string,
  marker: string,
  globally: boolean,
  work: (text: string) => Promise<string> | string,
): Promise<string> {
  if (text.includes(marker)) return phpTrim((await work(text)).split(marker).join(''));
  return globally ? work(text) : text;
}

export async function applyDirectives(text: string, switches: DirectiveSwitches, work: DirectiveWork): Promise<unknown> {
  let value = text;
  if (switches.expressions.enabled && switches.expressions.globally && !value.includes('!expressions')) {
    value = await work.expressions(value);
  }
  if (switches.shortcodes.enabled && !value.includes('!shortcodes')) {
    value = await markerOrGlobal(value, '@shortcodes', switches.shortcodes.globally, (t) => work.shortcodes(t));
  }
  if (switches.markdown.enabled && !value.includes('!markdown')) {
    value = await markerOrGlobal(value, '@markdown', switches.markdown.globally, (t) => work.markdown(t));
  }
  if (switches.textile.enabled && !value.includes('!textile')) {
    value = await markerOrGlobal(value, '@textile', switches.textile.globally, (t) => work.textile(t));
  }
  // php: never executed, whatever the settings say; `@php …` stays as written.
  if (switches.types.enabled && !value.includes('!types') && value.includes('@type[')) return applyTypeDirective(value);
  return value;
}
