/** The widget's styles, inside its shadow root: the host page's CSS cannot reach them, nor they it. */
export const STYLES = `
:host{all:initial}
*{box-sizing:border-box}
.page{height:100%}
.root{font:15px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328}
.launcher{position:absolute;right:0;bottom:0;display:flex;align-items:center;gap:8px;min-width:60px;height:60px;padding:0 18px;border:0;border-radius:30px;background:var(--bb);color:var(--bt);font:inherit;font-weight:600;cursor:pointer;pointer-events:auto;box-shadow:0 4px 14px rgba(0,0,0,.25);white-space:nowrap}
.launcher.icon{width:60px;padding:0;justify-content:center}
.launcher svg{width:26px;height:26px;flex:none;fill:currentColor}
.launcher:focus-visible,button:focus-visible,input:focus-visible,textarea:focus-visible{outline:3px solid #0b57d0;outline-offset:2px}
.window{position:absolute;right:0;bottom:0;width:370px;max-width:calc(100vw - 40px);height:560px;max-height:calc(100vh - 40px);display:flex;flex-direction:column;background:#fff;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.3);overflow:hidden;pointer-events:auto}
.page .window{position:static;width:100%;max-width:none;height:100%;max-height:none;border-radius:0;box-shadow:none}
[hidden]{display:none!important}
header{display:flex;align-items:center;gap:4px;padding:12px 12px 12px 16px;background:var(--hb);color:var(--tc)}
h1,h2{flex:1;margin:0;font-size:17px;color:var(--tc)}
header button{width:36px;height:36px;border:0;border-radius:6px;background:transparent;color:var(--tc);font:22px/1 system-ui,sans-serif;cursor:pointer}
.status{margin:0;padding:6px 16px;background:#fff8c5;color:#3b2300;font-size:14px}
.status:empty{display:none}
.log{flex:1;overflow-y:auto;padding:12px 16px;display:flex;flex-direction:column;gap:8px}
.msg{max-width:85%;padding:8px 12px;border-radius:12px;background:#eef0f3;white-space:pre-wrap;overflow-wrap:anywhere}
.msg.visitor{align-self:flex-end;background:var(--bb);color:var(--bt)}
.msg .who{display:block;font-size:13px;font-weight:600}
.msg.visitor .who{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
.msg.pending{opacity:.85}
.msg.failed{background:#ffebe9;color:#6e011a}
.msg.notice{align-self:center;background:#fff8c5;color:#3b2300}
.msg a{color:inherit}
.answers{display:flex;flex-wrap:wrap;gap:6px;max-width:85%;align-self:flex-start}
.answers button{padding:6px 12px;border-radius:16px}
.typing{min-height:1.4em;margin:0 16px;font-size:13px;color:#57606a}
form.compose{display:flex;gap:8px;padding:10px 12px;border-top:1px solid #d0d7de}
textarea,input{width:100%;padding:8px 10px;border:1px solid #6e7781;border-radius:6px;font:inherit;color:#1f2328;background:#fff}
.compose textarea{flex:1;height:44px;resize:none}
.primary{padding:8px 14px;border:0;border-radius:6px;background:#0b57d0;color:#fff;font:inherit;font-weight:600;cursor:pointer}
.secondary{padding:8px 14px;border:1px solid #6e7781;border-radius:6px;background:#fff;color:#1f2328;font:inherit;cursor:pointer}
.pane{flex:1;overflow-y:auto;padding:16px;display:flex;flex-direction:column;gap:12px}
.pane p{margin:0}
label{display:block;font-weight:600;margin-bottom:4px}
fieldset{border:0;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:8px}
legend{font-weight:600;margin-bottom:8px;padding:0}
fieldset label{display:flex;align-items:center;gap:6px;font-weight:400;padding:6px 10px;border:1px solid #6e7781;border-radius:6px;margin:0;cursor:pointer}
fieldset input{width:auto}
.error{color:#a40e26;font-size:14px;margin-top:4px}
.error:empty{display:none}
.trap{position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden}
.row{display:flex;gap:8px;flex-wrap:wrap}
`;

/** A speech bubble, drawn inline: nothing is fetched for it. */
export const BUBBLE_ICON = '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M12 3C6.5 3 2 6.6 2 11c0 2.4 1.3 4.5 3.4 6L4.5 21l4.3-2.4c1 .3 2.1.4 3.2.4 5.5 0 10-3.6 10-8s-4.5-8-10-8z"/></svg>';
