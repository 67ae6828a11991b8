import { escapeHtml } from '../text/html.js';
import { PUBLIC_PAGE_TEXTS as TEXTS, type Language } from '../text/public-pages.js';
import { isVisible, type FormField, type FormProblem } from './form.js';
import { HONEYPOT_FIELD, type WebsiteFormRow } from './service.js';

const STYLE = `
body{font-family:system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2430}
main{max-width:960px;margin:0 auto;padding:24px;display:flex;gap:32px;flex-wrap:wrap}
form{flex:2 1 420px;background:#fff;padding:24px;border-radius:8px}
aside{flex:1 1 220px}
.field{margin-bottom:16px}
.field.left,.field.right{display:flex;gap:12px;align-items:baseline}
.field.right{flex-direction:row-reverse;justify-content:flex-end}
.field.left label,.field.right label{min-width:140px}
.field.left>div,.field.right>div{flex:1}
label{display:block;font-weight:600;margin-bottom:4px}
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
input,select,textarea{width:100%;padding:8px;border:1px solid #b8bfcc;border-radius:4px;font:inherit;box-sizing:border-box}
input[type=checkbox]{width:auto}
.hint{color:#566;font-size:.9em;margin:4px 0 0}
.error{color:#b00020;font-size:.9em;margin:4px 0 0}
[aria-invalid=true]{border-color:#b00020}
.summary{background:#fdecee;color:#b00020;padding:12px;border-radius:4px}
.req{color:#b00020}
.trap{position:absolute;left:-10000px}
button{background:#2457c5;color:#fff;border:0;padding:10px 20px;border-radius:4px;font:inherit;cursor:pointer}
@media (max-width:640px){.device-desktop{display:none}}
@media (min-width:641px){.device-mobile{display:none}}
`;

// Shows and hides conditional fields as the customer types; without JavaScript they all show
// and the server ignores the ones whose condition does not hold.
const SCRIPT = `
(function(){
  var form=document.querySelector('form[data-intake-form]');if(!form)return;
  function value(key){var els=form.querySelectorAll('[name="'+key+'"]');for(var i=0;i<els.length;i++){var el=els[i];if(el.type==='checkbox')return el.checked?el.value:'';return el.value.trim();}return '';}
  function holds(c){var v=value(c.fieldKey),e=(c.value||'').trim();switch(c.operator){case 'EQUALS':return v===e;case 'NOT_EQUALS':return v!==e;case 'CONTAINS':return v.toLowerCase().indexOf(e.toLowerCase())!==-1;case 'IS_SET':return v!=='';case 'IS_NOT_SET':return v==='';}return true;}
  function update(){form.querySelectorAll('[data-condition]').forEach(function(w){var c=JSON.parse(w.getAttribute('data-condition'));var show=holds(c);var dep=form.querySelector('[data-key="'+c.fieldKey+'"]');if(dep&&dep.hidden)show=false;w.hidden=!show;w.querySelectorAll('input,select,textarea').forEach(function(i){i.disabled=!show;});});}
  form.addEventListener('input',update);form.addEventListener('change',update);update();
})();
`;

function page(lang: Language, title: string, body: string): string {
  return `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>`;
}

const paragraphs = (text: string) =>
  text
    .split(/\n{2,}/)
    .filter((p) => p.trim())
    .map((p) => `<p>${escapeHtml(p).replace(/\n/g, '<br>')}</p>`)
    .join('');

function renderField(f: FormField, value: string, problem: PageProblem | undefined, lang: Language): string {
  if (f.visibility === 'HIDDEN') return '';
  const t = TEXTS[lang];
  const id = `f-${f.key}`;
  const describedBy = [f.description ? `${id}-hint` : '', problem ? `${id}-error` : ''].filter(Boolean).join(' ');
  const common = `id="${id}" name="${escapeHtml(f.key)}"${f.required ? ' required aria-required="true"' : ''}${problem ? ' aria-invalid="true"' : ''}${describedBy ? ` aria-describedby="${describedBy}"` : ''}`;
  const placeholder = f.placeholder ? ` placeholder="${escapeHtml(f.placeholder)}"` : '';
  const types: Record<string, string> = { TEXT: 'text', EMAIL: 'email', TEL: 'tel', URL: 'url', NUMBER: 'number', DATE: 'date', FILE: 'file' };
  let input: string;
  if (f.inputType === 'TEXTAREA') input = `<textarea ${common}${placeholder} rows="6">${escapeHtml(value)}</textarea>`;
  else if (f.inputType === 'SELECT') {
    input = `<select ${common}><option value="">—</option>${f.options.map((o) => `<option value="${escapeHtml(o.value)}"${o.value === value ? ' selected' : ''}>${escapeHtml(o.label)}</option>`).join('')}</select>`;
  } else if (f.inputType === 'CHECKBOX') input = `<input type="checkbox" ${common} value="on"${value ? ' checked' : ''}>`;
  else if (f.inputType === 'FILE') input = `<input type="file" ${common} accept="image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain">`;
  else input = `<input type="${types[f.inputType]}" ${common}${placeholder} value="${escapeHtml(value)}">`;
  const mark = f.required ? ` <span class="req" aria-hidden="true">*</span><span class="sr-only">(${t.required})</span>` : '';
  const label = `<label for="${id}"${f.labelPosition === 'HIDDEN' ? ' class="sr-only"' : ''}>${escapeHtml(f.label)}${mark}</label>`;
  const hint = f.description ? `<p class="hint" id="${id}-hint">${escapeHtml(f.description)}</p>` : '';
  const error = problem ? `<p class="error" id="${id}-error">${escapeHtml((t as Record<string, string>)[problem.code] ?? problem.message)}</p>` : '';
  const condition = f.visibility === 'CONDITIONAL' && f.condition ? ` data-condition="${escapeHtml(JSON.stringify(f.condition))}"` : '';
  const position = f.labelPosition === 'LEFT' ? ' left' : f.labelPosition === 'RIGHT' ? ' right' : '';
  return `<div class="field device-${f.devices.toLowerCase()}${position}" data-key="${escapeHtml(f.key)}"${condition}>${label}<div>${input}${hint}${error}</div></div>`;
}

/** The public form, with the values and problems of a refused submission when there is one. */
export function renderFormPage(form: WebsiteFormRow, options: { lang: Language; action: string; values?: Record<string, string>; problems?: PageProblem[] }): string {
  const t = TEXTS[options.lang];
  const values = options.values ?? Object.fromEntries(form.fields.map((f) => [f.key, f.defaultValue ?? '']));
  const problems = options.problems ?? [];
  const general = problems.filter((p) => p.field.length === 0 || !form.fields.some((f) => f.key === p.field[0]));
  const hasFile = form.fields.some((f) => f.inputType === 'FILE');
  const fields = form.fields
    .map((f) => {
      const shown = f.visibility !== 'CONDITIONAL' || isVisible(f, values, form.fields);
      const html = renderField(f, values[f.key] ?? '', problems.find((p) => p.field[0] === f.key), options.lang);
      // Without JavaScript every conditional field shows; with it, the script hides those whose condition fails.
      return shown ? html : html.replace('<div class="field', '<div hidden class="field');
    })
    .join('');
  const summary = problems.length
    ? `<div class="summary" role="alert"><p>${escapeHtml(t.errors)}</p>${general.map((p) => `<p>${escapeHtml((t as Record<string, string>)[p.code] ?? p.message)}</p>`).join('')}</div>`
    : '';
  const aside = form.sideBlocks.map((b) => `<section><h2>${escapeHtml(b.title)}</h2>${paragraphs(b.body)}</section>`).join('');
  const body = `<main><form method="post" action="${escapeHtml(options.action)}" data-intake-form novalidate${hasFile ? ' enctype="multipart/form-data"' : ''}>
<h1>${escapeHtml(form.title)}</h1>${paragraphs(form.intro)}${summary}${fields}
<div class="trap" aria-hidden="true"><label for="f-${HONEYPOT_FIELD}">Website</label><input id="f-${HONEYPOT_FIELD}" name="${HONEYPOT_FIELD}" tabindex="-1" autocomplete="off"></div>
<button type="submit">${escapeHtml(t.send)}</button></form>${aside ? `<aside>${aside}</aside>` : ''}</main><script>${SCRIPT}</script>`;
  return page(options.lang, form.title, body);
}

export function renderSuccessPage(form: WebsiteFormRow, ticketNumber: number, lang: Language): string {
  const t = TEXTS[lang];
  return page(lang, form.title, `<main><form><h1>${escapeHtml(form.title)}</h1>${paragraphs(form.successMessage)}<p role="status">${escapeHtml(t.thanks)} <strong data-ticket-number>#${ticketNumber}</strong></p></form></main>`);
}

export function renderIndexPage(forms: Array<{ name: string; slug: string; title: string }>, lang: Language): string {
  const t = TEXTS[lang];
  const items = forms.map((f) => `<li><a href="/support/${encodeURIComponent(f.slug)}">${escapeHtml(f.title)}</a> — ${escapeHtml(f.name)}</li>`).join('');
  return page(lang, t.forms, `<main><form><h1>${escapeHtml(t.forms)}</h1>${items ? `<ul>${items}</ul>` : `<p>${escapeHtml(t.none)}</p>`}</form></main>`);
}

/** A problem the page shows: a userError, or a post refused before its fields were read. */
type PageProblem = Omit<FormProblem, 'code'> & { code: FormProblem['code'] | 'TOO_LARGE' | 'UNREADABLE' };

/** A post refused before its fields were read (too large, unreadable): the form again, empty, with the reason on top. */
export function renderRefusedPage(form: WebsiteFormRow, options: { lang: Language; action: string; code: 'TOO_LARGE' | 'UNREADABLE' | 'RATE_LIMITED' }): string {
  return renderFormPage(form, { lang: options.lang, action: options.action, problems: [{ field: [], code: options.code, message: TEXTS[options.lang][options.code] }] });
}
