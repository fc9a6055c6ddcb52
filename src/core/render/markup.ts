/**
 * Markdown and Textile to HTML, set up as the reference's parsers are: CommonMark with tables and
 * `{.class #id}` attributes, raw HTML allowed, unsafe link targets removed (league/commonmark 2 with
 * `allow_unsafe_links: false`); Textile as netcarver/textile with line wrapping (textile-js).
 */
import MarkdownIt from 'markdown-it';
import markdownItAttrs from 'markdown-it-attrs';
import textile from 'textile-js';

export interface MarkupSettings {
  /** `parsers.markdown.commonmark.html_input`: `allow` passes raw HTML, `escape` escapes it, `strip` drops it. */
  htmlInput: string;
  allowUnsafeLinks: boolean;
}

/** The reference's test for risky URLs: script schemes, files, and data other than common images. */
function isUnsafeUrl(url: string): boolean {
  const lower = url.trim().toLowerCase();
  if (/^(javascript|vbscript|file):/.test(lower)) return true;
  return lower.startsWith('data:') && !/^data:image\/(png|gif|jpeg|webp)/.test(lower);
}

export function createMarkdown(settings: MarkupSettings): (text: string) => string {
  const md = new MarkdownIt('commonmark', { html: settings.htmlInput !== 'strip' }).enable('table').use(markdownItAttrs);
  // Every target is parsed as a link; unsafe ones lose their href/src instead of staying as text.
  md.validateLink = () => true;
  if (!settings.allowUnsafeLinks) {
    const defaultLink = md.renderer.rules['link_open'] ?? ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));
    md.renderer.rules['link_open'] = (tokens, idx, options, env, self) => {
      const token = tokens[idx]!;
      const href = token.attrGet('href');
      if (href !== null && isUnsafeUrl(String(href))) token.attrs = (token.attrs ?? []).filter(([name]) => name !== 'href');
      return defaultLink(tokens, idx, options, env, self);
    };
    const defaultImage = md.renderer.rules['image']!;
    md.renderer.rules['image'] = (tokens, idx, options, env, self) => {
      const token = tokens[idx]!;
      const src = token.attrGet('src');
      if (src !== null && isUnsafeUrl(String(src))) token.attrSet('src', '');
      return defaultImage(tokens, idx, options, env, self);
    };
  }
  // Table alignment as league/commonmark writes it (`align="right"`, not a style attribute).
  for (const rule of ['th_open', 'td_open'] as const) {
    md.renderer.rules[rule] = (tokens, idx, options, _env, self) => {
      const token = tokens[idx]!;
      const style = token.attrGet('style');
      const align = style === null ? undefined : /^text-align:(left|right|center)$/.exec(String(style))?.[1];
      if (align !== undefined) {
        token.attrs = (token.attrs ?? []).filter(([name]) => name !== 'style');
        token.attrSet('align', align);
      }
      return self.renderToken(tokens, idx, options);
    };
  }
  if (settings.htmlInput === 'escape') {
    md.renderer.rules['html_block'] = (tokens, idx) => md.utils.escapeHtml(tokens[idx]!.content);
    md.renderer.rules['html_inline'] = (tokens, idx) => md.utils.escapeHtml(tokens[idx]!.content);
  }
  return (text) => {
    const html = md.render(text);
    // The reference ends every non-empty document with the block separator.
    return html === '' || html.endsWith('\n') ? html : `${html}\n`;
  };
}

export function renderTextile(text: string): string {
  return textile(text);
}
