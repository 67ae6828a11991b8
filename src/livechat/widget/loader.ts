// The embed code's script (≤ 3 KB gzipped): it does nothing before the page has loaded, then
// puts a fixed, empty container where the bubble will be (out of the page's flow, so nothing
// moves when the bubble appears) and loads the widget when the browser is idle or at the
// visitor's first interaction, whichever comes first.
declare const WIDGET_FILE: string;

(() => {
  const script = document.currentScript as HTMLScriptElement | null;
  const key = script?.dataset.channel;
  if (!script || !key) return;
  const widgetUrl = new URL(WIDGET_FILE, script.src).href;
  const hostId = `intake-chat-${key}`;
  const interactions = ['pointerdown', 'keydown', 'touchstart', 'scroll'];

  const start = () => {
    if (document.getElementById(hostId)) return;
    const host = document.createElement('div');
    host.id = hostId;
    // The bubble's place: fixed in the corner, catching no clicks until the widget draws in it.
    host.style.cssText = 'position:fixed;right:20px;bottom:20px;width:60px;height:60px;z-index:2147483000;pointer-events:none;contain:layout style';
    document.body.appendChild(host);
    let loading = false;
    const load = () => {
      if (loading) return;
      loading = true;
      for (const type of interactions) removeEventListener(type, load, true);
      const widget = document.createElement('script');
      widget.src = widgetUrl;
      widget.async = true;
      widget.dataset.channel = key;
      widget.dataset.host = hostId;
      document.head.appendChild(widget);
    };
    for (const type of interactions) addEventListener(type, load, { capture: true, passive: true });
    if ('requestIdleCallback' in window) requestIdleCallback(load, { timeout: 3000 });
    else setTimeout(load, 200);
  };
  if (document.readyState === 'complete') start();
  else addEventListener('load', start, { once: true });
})();
