import { html, raw, type SafeHtml } from '../html.js';

export interface PageContext {
  /** The logged-in user, if any. */
  user: { username: string; isAdmin: boolean } | null;
  csrfToken: string;
  flash?: { kind: 'notice' | 'secret' | 'error'; title: string; lines: string[] } | undefined;
}

const STYLE = raw(`
body{font-family:system-ui,sans-serif;max-width:60rem;margin:0 auto;padding:1rem;color:#222}
nav{display:flex;gap:1rem;align-items:center;border-bottom:1px solid #ccc;padding-bottom:.5rem;margin-bottom:1rem}
nav form{margin-left:auto}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
td,th{border:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top;font-size:.9rem}
code,.secret{font-family:ui-monospace,monospace;word-break:break-all}
.flash{padding:.75rem;border:1px solid #999;margin:1rem 0;background:#f6f6f6}
.flash.secret{border-color:#b58900;background:#fdf6e3}.flash.error{border-color:#c00;background:#fee}
fieldset{margin:.5rem 0}label{display:block;margin:.25rem 0}
textarea,input[type=text],input[type=password],input[type=search]{width:100%;max-width:36rem;box-sizing:border-box}
button{cursor:pointer}
`);

/** The page frame: navigation (with a CSRF-protected logout form), a one-time flash, the body. */
export function renderPage(title: string, context: PageContext, body: SafeHtml): string {
  const { user, flash } = context;
  return html`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Portcullis polls</title><style>${STYLE}</style></head>
<body>
<nav>
  <strong><a href="/">Portcullis polls</a></strong>
  ${user ? html`<a href="/account/apps">My apps</a>` : ''}
  ${user?.isAdmin ? html`<a href="/admin">Admin</a>` : ''}
  ${
    user
      ? html`<form method="post" action="/logout"><span>Signed in as <strong>${user.username}</strong></span>
          <input type="hidden" name="_csrf" value="${context.csrfToken}"> <button type="submit">Log out</button></form>`
      : html`<a href="/login">Log in</a>`
  }
</nav>
${
  flash
    ? html`<div class="flash ${flash.kind}" role="status"><strong>${flash.title}</strong>
        ${flash.lines.map((line) => html`<div class="${flash.kind === 'secret' ? 'secret' : ''}">${line}</div>`)}</div>`
    : ''
}
<main>
<h1>${title}</h1>
${body}
</main>
</body>
</html>`.value;
}
