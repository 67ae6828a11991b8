import sanitizeHtml from 'sanitize-html';

const escapes: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => escapes[c]!);
}

/**
 * Plain text as HTML paragraphs, line breaks kept. With `links`, web addresses (http, https,
 * www.) become links, as in a mail an agent writes.
 */
export function textToHtml(text: string, options: { links?: boolean } = {}): string {
  const paragraphs = text.replace(/\r\n?/g, '\n').trim().split(/\n{2,}/);
  const inline = options.links ? linkedHtml : escapeHtml;
  return paragraphs
    .filter((p) => p !== '')
    .map((p) => `<p>${inline(p).replace(/\n/g, '<br>')}</p>`)
    .join('\n');
}

const WEB_ADDRESS = /\b(?:https?:\/\/|www\.)[^\s<>"]+/gi;

/** Escaped text with its web addresses as links; punctuation ending a sentence stays outside. */
function linkedHtml(text: string): string {
  let html = '';
  let last = 0;
  for (const match of text.matchAll(WEB_ADDRESS)) {
    let address = match[0];
    // "(see https://x.example/a)." — trailing punctuation and an unbalanced ")" are the sentence's.
    for (;;) {
      const trimmed = address.replace(/[.,;:!?'\]]+$/, '');
      const unbalanced = trimmed.endsWith(')') && (trimmed.match(/\(/g)?.length ?? 0) < (trimmed.match(/\)/g)?.length ?? 0);
      const next = unbalanced ? trimmed.slice(0, -1) : trimmed;
      if (next === address) break;
      address = next;
    }
    if (!/^(?:https?:\/\/|www\.)[^./]/i.test(address)) continue;
    const href = /^www\./i.test(address) ? `https://${address}` : address;
    html += escapeHtml(text.slice(last, match.index)) + `<a href="${escapeHtml(href)}">${escapeHtml(address)}</a>`;
    last = match.index + address.length;
  }
  return html + escapeHtml(text.slice(last));
}

/**
 * Safe HTML for agents' screens: no scripts, styles that run code, event handlers, or remote
 * resources that could track the reader (only inline `cid:` and `data:` images are kept).
 */
export function sanitizeMessageHtml(html: string): string {
  return sanitizeHtml(html, {
    allowedTags: [
      ...sanitizeHtml.defaults.allowedTags.filter((t) => t !== 'img'),
      'img', 'span', 'font', 'center', 'u', 's', 'del', 'ins', 'sub', 'sup',
    ],
    allowedAttributes: {
      a: ["href", "title", "rel", "target"],
      img: ['src', 'alt', 'title', 'width', 'height'],
      td: ['colspan', 'rowspan', 'align', 'valign'],
      th: ['colspan', 'rowspan', 'align', 'valign'],
      '*': ['dir', 'lang'],
    },
    allowedSchemes: ['http', 'https', 'mailto', 'tel'],
    allowedSchemesByTag: { img: ['cid', 'data'] },
    allowProtocolRelative: false,
    transformTags: {
      a: sanitizeHtml.simpleTransform('a', { rel: 'noopener noreferrer nofollow', target: '_blank' }),
    },
  });
}
