import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/** A script as served: its bytes, gzipped once, and the ETag of both. */
export interface ScriptAsset {
  body: Buffer;
  gzip: Buffer;
  etag: string;
}

export interface WidgetAssets {
  loader: ScriptAsset;
  widget: ScriptAsset;
  /** The widget's file name, with its content hash: served immutable, named by the loader and the direct-link page. */
  widgetFile: string;
}

const SOURCES = fileURLToPath(new URL('./widget/', import.meta.url));
/** Browsers of the last few years; esbuild lowers what they lack. */
const BROWSERS = ['chrome100', 'firefox100', 'safari15', 'edge100'];

let built: Promise<WidgetAssets> | null = null;

/**
 * The loader and the widget, bundled and minified by esbuild from src/livechat/widget/ the first
 * time they are asked for (or at start: `prepareWidgetAssets`), then kept for the process's life:
 * `npm start` and the tests serve them with no build step to remember.
 */
export function widgetAssets(): Promise<WidgetAssets> {
  built ??= bundleWidget().catch((error) => {
    built = null;
    throw error;
  });
  return built;
}

async function bundleWidget(): Promise<WidgetAssets> {
  const { build } = await import('esbuild');
  const bundle = async (entry: string, define: Record<string, string> = {}) => {
    const result = await build({
      entryPoints: [`${SOURCES}${entry}`],
      bundle: true,
      minify: true,
      format: 'iife',
      target: BROWSERS,
      platform: 'browser',
      write: false,
      legalComments: 'none',
      logLevel: 'error',
      define,
    });
    return asset(Buffer.from(result.outputFiles[0]!.contents));
  };
  const widget = await bundle('widget.ts');
  const widgetFile = `widget-${widget.etag.slice(1, 13)}.js`;
  const loader = await bundle('loader.ts', { WIDGET_FILE: JSON.stringify(widgetFile) });
  return { loader, widget, widgetFile };
}

function asset(body: Buffer): ScriptAsset {
  return { body, gzip: gzipSync(body, { level: 9 }), etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
}
