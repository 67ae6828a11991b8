import type http from 'node:http';
import { UserInputError } from '../errors.js';
import { readFormBody, type FormBodyLimits } from '../http/form-body.js';
import { clientOf, sendHtml, type Route, type RouteContext } from '../http/router.js';
import { metricsOf } from '../observability/metrics.js';
import { languageOf } from '../text/public-pages.js';
import { renderFormPage, renderIndexPage, renderRefusedPage, renderSuccessPage } from './page.js';
import { countFormSubmission, formRefusalReason, MAX_FILE_BYTES, publicFormBySlug, publishedForms, submitWebsiteForm } from './service.js';

/** The public pages run no script of others and are never framed: no one can overlay them to steal input. */
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; form-action 'self'; img-src 'self'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
};

/** A form has at most 50 fields and its longest text is 20 000 characters; files are 10 MB at most. */
const FORM_BODY_LIMITS: FormBodyLimits = {
  maxBytes: 12 * 1024 * 1024,
  maxTextBytes: 1024 * 1024,
  maxParts: 120,
  maxFiles: 50,
  maxFieldBytes: 100 * 1024,
  maxFileBytes: MAX_FILE_BYTES,
};

/** /support lists the published forms; /support/<slug> shows one and takes its submissions. */
export const WEBFORM_ROUTES: Route[] = [
  { methods: ['GET', 'HEAD'], path: /^\/support\/?$/, headers: PAGE_HEADERS, handle: supportIndex },
  {
    methods: ['GET', 'HEAD', 'POST'],
    path: /^\/support\/([a-z0-9._-]{1,80})$/,
    headers: PAGE_HEADERS,
    body: 'streamed',
    handle: (req, res, context) => supportPage(req, res, context, context.params[0]!),
  },
];

async function supportIndex(req: http.IncomingMessage, res: http.ServerResponse, { db }: RouteContext) {
  const forms = await publishedForms(db);
  sendHtml(res, 200, renderIndexPage(forms.map(({ team, form }) => ({ name: team.name, slug: form.slug, title: form.title })), languageOf(req.headers['accept-language'])));
}

/** The public form page: GET shows it, POST submits it and shows errors beside their fields. */
async function supportPage(req: http.IncomingMessage, res: http.ServerResponse, { db, config }: RouteContext, slug: string) {
  const lang = languageOf(req.headers['accept-language']);
  const found = await publicFormBySlug(db, slug);
  if (!found) return sendHtml(res, 404, '<!doctype html><title>Not found</title><h1>Not found</h1>');
  const action = `/support/${found.form.slug}`;
  if (req.method !== 'POST') return sendHtml(res, 200, renderFormPage(found.form, { lang, action }));
  const origin = clientOf(req, config);
  const metrics = metricsOf(db);
  metrics?.formPosts.inc();
  // Counted before a byte of the body is parsed: a client past its limit costs one counter bump.
  if ((await countFormSubmission(db, config, origin.clientAddress)) !== null) {
    metrics?.formRefusals.inc({ reason: 'RATE_LIMITED' });
    return sendHtml(res, 429, renderRefusedPage(found.form, { lang, action, code: 'RATE_LIMITED' }));
  }
  const body = await readFormBody(req, FORM_BODY_LIMITS);
  if (!body.ok) {
    const code = body.status === 413 ? 'TOO_LARGE' : 'UNREADABLE';
    metrics?.formRefusals.inc({ reason: code });
    return sendHtml(res, body.status, renderRefusedPage(found.form, { lang, action, code }));
  }
  const { values, files } = body;
  try {
    const { ticketNumber } = await submitWebsiteForm(db, config, { teamId: found.team.id, values, files, origin, rateLimitCounted: true });
    sendHtml(res, 200, renderSuccessPage(found.form, ticketNumber, lang));
  } catch (error) {
    if (!(error instanceof UserInputError)) throw error;
    const problems = error.errors.map((e) => ({ field: e.field ?? [], code: e.code, message: e.message }));
    metrics?.formRefusals.inc({ reason: formRefusalReason(problems) });
    sendHtml(res, problems.some((p) => p.code === 'RATE_LIMITED') ? 429 : 422, renderFormPage(found.form, { lang, action, values, problems }));
  }
}
