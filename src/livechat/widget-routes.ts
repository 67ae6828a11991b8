import type http from 'node:http';
import { sendHtml, type Route, type RouteContext } from '../http/router.js';
import { escapeHtml } from '../text/html.js';
import { findChannelByKey } from './channels.js';
import { widgetAssets, type ScriptAsset } from './widget-assets.js';
import { directLinkFrameAncestors } from './widget.js';

/** Scripts any site may load (the widget runs on the customer's pages), never sniffed as something else. */
const SCRIPT_HEADERS = {
  'content-type': 'text/javascript; charset=utf-8',
  'x-content-type-options': 'nosniff',
  'cross-origin-resource-policy': 'cross-origin',
  'access-control-allow-origin': '*',
  vary: 'accept-encoding',
};

/**
 * The browser side of live chat: the loader of the embed code (its URL never changes: cached
 * briefly, revalidated by ETag), the widget it loads (named by its content hash: cached for a
 * year) and the direct-link page, the chat alone in a full window.
 */
export const WIDGET_ROUTES: Route[] = [
  {
    methods: ['GET', 'HEAD'],
    path: '/livechat/loader.js',
    headers: { ...SCRIPT_HEADERS, 'cache-control': 'public, max-age=300, stale-while-revalidate=86400' },
    handle: async (req, res) => sendScript(req, res, (await widgetAssets()).loader),
  },
  {
    methods: ['GET', 'HEAD'],
    path: /^\/livechat\/(widget-[A-Za-z0-9_-]{12}\.js)$/,
    headers: SCRIPT_HEADERS,
    handle: async (req, res, { params }) => {
      const assets = await widgetAssets();
      // A loader cached before an upgrade names the old file: it gets today's widget, not cached for long.
      res.setHeader('cache-control', params[0] === assets.widgetFile ? 'public, max-age=31536000, immutable' : 'public, max-age=300');
      sendScript(req, res, assets.widget);
    },
  },
  { methods: ['GET', 'HEAD'], path: /^\/chat\/([A-Za-z0-9_-]{1,100})$/, handle: directLinkPage },
];

function sendScript(req: http.IncomingMessage, res: http.ServerResponse, script: ScriptAsset) {
  res.setHeader('etag', script.etag);
  if (req.headers['if-none-match']?.split(/\s*,\s*/).includes(script.etag)) {
    res.writeHead(304).end();
    return;
  }
  const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  const body = gzip ? script.gzip : script.body;
  if (gzip) res.setHeader('content-encoding', 'gzip');
  res.writeHead(200, { 'content-length': body.length });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** The direct link: the same widget in page mode; framed only by the channel's allowed origins. */
async function directLinkPage(_req: http.IncomingMessage, res: http.ServerResponse, { db, params }: RouteContext) {
  const channel = await findChannelByKey(db, params[0]!);
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('referrer-policy', 'no-referrer');
  if (!channel) {
    res.setHeader('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
    return sendHtml(res, 404, '<!doctype html><html lang="en"><title>Not found</title><h1>Not found</h1><p>No chat has this address.</p></html>');
  }
  const { widgetFile } = await widgetAssets();
  res.setHeader(
    'content-security-policy',
    `default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; ${directLinkFrameAncestors(channel)}`,
  );
  res.setHeader('cache-control', 'no-cache');
  const name = escapeHtml(channel.name);
  sendHtml(
    res,
    200,
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${name}</title>` +
      `<style>html,body{margin:0;height:100%}</style></head><body><div id="intake-chat" style="height:100%"></div>` +
      `<script src="/livechat/${widgetFile}" data-channel="${escapeHtml(channel.key)}" data-mode="page" data-host="intake-chat"></script></body></html>`,
  );
}
