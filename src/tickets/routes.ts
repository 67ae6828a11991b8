import type http from 'node:http';
import { isStaff } from '../auth/principal.js';
import { TokenRefusedError } from '../auth/service.js';
import { sendJson, type Route, type RouteContext } from '../http/router.js';
import { findAttachment } from './message-rows.js';

/** Attachments are for agents: the same bearer tokens as the API. */
export const TICKET_ROUTES: Route[] = [
  {
    methods: ['GET'],
    path: /^\/attachments\/(\d{1,10})$/,
    headers: {
      // Served as a download, never rendered in our origin: an HTML or SVG attachment cannot run script here.
      'x-content-type-options': 'nosniff',
      'content-security-policy': "default-src 'none'; sandbox",
      // Shown to token holders only: no shared cache may keep a copy.
      'cache-control': 'private, no-store',
    },
    handle: (req, res, context) => downloadAttachment(req, res, context, Number(context.params[0])),
  },
];

async function downloadAttachment(req: http.IncomingMessage, res: http.ServerResponse, { db, auth }: RouteContext, id: number) {
  let principal;
  try {
    principal = await auth.principalOf(req.headers.authorization);
  } catch (error) {
    if (error instanceof TokenRefusedError) return sendJson(res, 401, { error: error.message });
    throw error;
  }
  if (principal.kind === 'anonymous') return sendJson(res, 401, { error: 'Authentication required: send "Authorization: Bearer <token>".' });
  if (!isStaff(principal)) return sendJson(res, 403, { error: 'Forbidden: attachments need an agent or admin token.' });
  // Ids are int4: a larger number names no attachment (and would be refused by the database).
  const file = id >= 1 && id <= 2_147_483_647 ? await findAttachment(db, id) : undefined;
  if (!file) return sendJson(res, 404, { error: 'No attachment has this id.' });
  res.writeHead(200, {
    'content-type': file.contentType.replace(/[^\w.+/-]/g, '') || 'application/octet-stream',
    'content-length': file.data.length,
    'content-disposition': `attachment; filename*=UTF-8''${encodeURIComponent(file.filename)}`,
  });
  res.end(file.data);
}
