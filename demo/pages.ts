// The simulated systems' HTML and assets. Static pages are rendered once per system at start-up,
// so serving one costs a buffer write; only the login pages (csrf, name) are rendered per request.
import type { SystemDef } from './systems.js';

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The sub-resources every page links, so that a page-load probe has something to fetch. */
export const ASSETS = ['/assets/site.css', '/assets/site.js', '/assets/logo.svg'] as const;

export function layout(sys: SystemDef, title: string, main: string, nav?: { loginHref?: string }): string {
  const login = nav?.loginHref === undefined ? '' : `<a class="button" href="${esc(nav.loginHref)}">Log på</a>`;
  return `<!DOCTYPE html>
<html lang="da">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<meta name="description" content="${esc(sys.description)}">
<link rel="icon" href="/assets/logo.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/site.css">
<script src="/assets/site.js" defer></script>
</head>
<body>
<header class="top"><a href="/" class="brand"><img src="/assets/logo.svg" alt="${esc(sys.name)}" width="40" height="40"> ${esc(sys.name)}</a>${login}</header>
<main>
${main}
</main>
<footer>Simuleret ${esc(sys.name)} (${esc(sys.realHost)}) i vagt-demoen · ikke den rigtige tjeneste · <a href="/health">Driftsstatus</a></footer>
</body>
</html>
`;
}

export function frontPage(sys: SystemDef, loginHref: string | undefined): string {
  const tiles = sys.tiles
    .map(([label, text]) => `<li class="tile"><h2>${esc(label)}</h2><p>${esc(text)}</p></li>`)
    .join('\n');
  const intro = sys.intro.map((p) => `<p>${esc(p)}</p>`).join('\n');
  return layout(
    sys,
    sys.title,
    `<h1>${esc(sys.heading)}</h1>\n${intro}\n<ul class="tiles">\n${tiles}\n</ul>`,
    loginHref === undefined ? undefined : { loginHref },
  );
}

/** An error page in Danish, as the real sites show them. */
export function errorPage(sys: SystemDef, heading: string, text: string): string {
  return layout(sys, `${heading} – ${sys.name}`, `<h1>${esc(heading)}</h1>\n<p class="error">${esc(text)}</p>`);
}

export function notFoundPage(sys: SystemDef): string {
  return errorPage(sys, 'Siden blev ikke fundet', 'Siden findes ikke, eller den er flyttet. Gå til forsiden og prøv igen.');
}

export function serverErrorPage(sys: SystemDef): string {
  return errorPage(sys, 'Der opstod en teknisk fejl', `${sys.name} har tekniske problemer. Prøv igen om lidt.`);
}

export function loginForm(sys: SystemDef, csrf: string, error?: string): string {
  const err = error === undefined ? '' : `<p class="error" role="alert">${esc(error)}</p>\n`;
  return layout(
    sys,
    `Log på – ${sys.name}`,
    `<h1>Log på med MitID</h1>
<p>Du er ved at logge på en offentlig selvbetjening via NemLog-in.</p>
${err}<form method="post" action="/login" class="login">
<input type="hidden" name="csrf" value="${esc(csrf)}">
<label for="user">Bruger-ID</label>
<input id="user" name="user" autocomplete="username" required>
<label for="password">Adgangskode</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Fortsæt</button>
</form>
<p class="hint">Demo: bruger-ID <code>demo</code>, adgangskode <code>demo1234</code>.</p>`,
  );
}

export function welcomePage(sys: SystemDef, name: string, welcome: string, items: readonly string[]): string {
  const list = items.map((i) => `<li>${esc(i)}</li>`).join('\n');
  return layout(
    sys,
    `Min side – ${sys.name}`,
    `<h1>Velkommen, ${esc(name)}</h1>\n<p>${esc(welcome)}</p>\n<ul class="items">\n${list}\n</ul>\n<p><a href="/log-ud">Log af</a></p>`,
  );
}

export function stylesheet(sys: SystemDef): string {
  return `:root{--brand:${sys.colour}}
*{box-sizing:border-box}
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1a1a1a;background:#f6f7f9;line-height:1.5}
.top{display:flex;justify-content:space-between;align-items:center;padding:.75rem 1.5rem;background:var(--brand);color:#fff}
.top a{color:#fff;text-decoration:none}
.brand{display:flex;gap:.5rem;align-items:center;font-weight:700;font-size:1.25rem}
.button,button{display:inline-block;padding:.5rem 1rem;border:2px solid #fff;border-radius:4px;background:var(--brand);color:#fff;font-weight:600;cursor:pointer}
main{max-width:60rem;margin:0 auto;padding:1.5rem}
h1{color:var(--brand)}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(14rem,1fr));gap:1rem;list-style:none;padding:0}
.tile{background:#fff;border-left:4px solid var(--brand);padding:1rem}
.tile h2{margin:0 0 .25rem;font-size:1.1rem}
.login{display:grid;gap:.5rem;max-width:22rem}
.login input{padding:.5rem;border:1px solid #888;border-radius:4px}
.error{color:#a00000;font-weight:600}
footer{max-width:60rem;margin:2rem auto;padding:0 1.5rem;color:#555;font-size:.85rem}
`;
}

export function script(sys: SystemDef): string {
  return `// ${sys.name} (simuleret): marks the page as loaded, as real sites' bundles do.
document.documentElement.classList.add('js');
window.addEventListener('load', function () { document.body.dataset.loaded = String(Date.now()); });
`;
}

export function logo(sys: SystemDef): string {
  const initials = sys.name.replace(/[^A-Za-zÆØÅæøå]/g, '').slice(0, 2);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40" viewBox="0 0 40 40" role="img" aria-label="${esc(sys.name)}">
<rect width="40" height="40" rx="8" fill="${sys.colour}"/>
<text x="20" y="26" font-family="sans-serif" font-size="16" font-weight="700" fill="#fff" text-anchor="middle">${esc(initials)}</text>
</svg>
`;
}
