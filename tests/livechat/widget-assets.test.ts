import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { createChatTeam, request } from './support.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

describe('the widget scripts and the direct-link page over HTTP', () => {
  it('serves the loader gzipped and revalidated by ETag, naming the widget, which is cached for a year', async () => {
    const loader = await fetch(`${server.url}/livechat/loader.js`, { headers: { 'accept-encoding': 'gzip' } });
    expect(loader.status).toBe(200);
    expect(loader.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(loader.headers.get('content-encoding')).toBe('gzip');
    expect(loader.headers.get('cache-control')).toMatch(/^public, max-age=300\b/);
    const etag = loader.headers.get('etag')!;
    expect(etag).toMatch(/^"[\w-]+"$/);
    const source = await loader.text();
    const widgetFile = /widget-[\w-]{12}\.js/.exec(source)?.[0];
    expect(widgetFile).toBeDefined();

    const again = await fetch(`${server.url}/livechat/loader.js`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);

    const raw = await fetch(`${server.url}/livechat/${widgetFile}`, { headers: { 'accept-encoding': 'gzip' }, decompress: false } as RequestInit);
    expect(raw.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(raw.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    const gzipped = Buffer.from(await raw.arrayBuffer());
    // fetch may or may not decompress; the bytes are the widget either way.
    const body = raw.headers.get('content-encoding') === 'gzip' && gzipped[0] === 0x1f ? gunzipSync(gzipped).toString() : gzipped.toString();
    expect(body).toContain('attachShadow');
  });

  it("serves the direct-link page with the widget in page mode, framed only by the channel's allowed origins", async () => {
    const { channelId } = await createChatTeam(server, 'Direct Link Headers');
    const { liveChatChannel } = await request(server, undefined as any, `query ($id: ID!) { liveChatChannel(id: $id) { key directLinkUrl } }`, { id: channelId });
    const open = await fetch(liveChatChannel.directLinkUrl);
    expect(open.status).toBe(200);
    expect(open.headers.get('content-security-policy')).toContain('frame-ancestors *');
    const html = await open.text();
    expect(html).toMatch(new RegExp(`<script src="/livechat/widget-[\\w-]{12}\\.js" data-channel="${liveChatChannel.key}" data-mode="page"`));

    await request(server, undefined as any, `mutation ($input: UpdateLiveChatChannelInput!) { updateLiveChatChannel(input: $input) { userErrors { code } } }`, {
      input: { channelId, allowedOrigins: ['https://shop.example.com'] },
    });
    const limited = await fetch(liveChatChannel.directLinkUrl);
    expect(limited.headers.get('content-security-policy')).toContain("frame-ancestors 'self' https://shop.example.com");

    expect((await fetch(`${server.url}/chat/no-such-key`)).status).toBe(404);
  });
});
