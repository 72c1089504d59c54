// Building the page. Everything the dashboard shows is made here with createElement and text nodes: tracked
// data (pages, titles, referrers, properties…) is hostile and is never parsed as HTML. Links made from
// tracked data go through `safeUrl` (absolute http/https only).

const FORBIDDEN = new Set(['innerHTML', 'outerHTML', 'srcdoc', 'insertAdjacentHTML']);

/**
 * `h('button', {class: 'x', on: {click}}, 'text', child, [more])`. Props: `class`, `text`, `on`, `dataset`,
 * DOM properties (`type`, `value`, `disabled`, …) and attributes (`aria-*`, `role`, `for`, …).
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  if (props) {
    for (const [key, value] of Object.entries(props)) {
      if (value === undefined || value === null || value === false) continue;
      if (FORBIDDEN.has(key)) throw new Error(`h(): ${key} is not allowed`);
      if (key === 'class') el.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : value;
      else if (key === 'text') el.textContent = String(value);
      else if (key === 'on') for (const [event, fn] of Object.entries(value)) el.addEventListener(event, fn);
      else if (key === 'dataset') Object.assign(el.dataset, value);
      else if (key === 'style') throw new Error('h(): use classes (the CSP forbids style attributes)');
      else if (!key.includes('-') && key in el && key !== 'role' && key !== 'list') el[key] = value;
      else el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export function clear(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** An absolute http(s) URL from untrusted text, or null. */
export function safeUrl(value, base) {
  if (typeof value !== 'string' || value.length > 4096) return null;
  try {
    const url = base ? new URL(value, base) : new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

/**
 * Tracked text that may be very long (a page path can have 2,000 characters): shown on at most `lines` lines,
 * the whole value in the tooltip. Text only, like everything else.
 */
export function clipped(text, lines = 2) {
  const value = String(text);
  return h('span', { class: ['clamp', lines === 3 ? 'clamp-3' : ''], title: value }, value);
}

/** A link that leaves the dashboard, or plain text when `url` is not a safe http(s) URL. */
export function externalLink(url, text, props = {}) {
  const href = safeUrl(url);
  if (!href) return h('span', props, text);
  return h('a', { ...props, href, target: '_blank', rel: 'noopener noreferrer nofollow' }, text);
}

/** A message panel for an error; `error` is an ApiError or anything with a message. */
export function errorBox(error, retry) {
  const message = error && error.message ? error.message : String(error);
  return h(
    'div',
    { class: 'error', role: 'alert' },
    h('p', { text: message }),
    retry ? h('button', { type: 'button', class: 'button small', on: { click: retry } }, 'Try again') : null,
  );
}

export const isAbort = (error) => error && error.name === 'AbortError';

/** Copies text; falls back to selecting it in `field` when the Clipboard API is unavailable (plain http). */
export async function copyText(text, field) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    if (!field) return false;
    field.focus();
    field.select();
    try {
      return document.execCommand('copy');
    } catch {
      return false;
    }
  }
}

/** A read-only code field and a copy button that says when it worked. */
export function copyField(text, label) {
  const field = h('textarea', { class: 'code', readOnly: true, rows: 2, spellcheck: false, 'aria-label': label }, text);
  const status = h('span', { class: 'copy-status', role: 'status' });
  const button = h(
    'button',
    {
      type: 'button',
      class: 'button',
      on: {
        click: async () => {
          const ok = await copyText(text, field);
          status.textContent = ok ? 'Copied' : 'Press Ctrl+C to copy';
          setTimeout(() => (status.textContent = ''), 3000);
        },
      },
    },
    'Copy',
  );
  return h('div', { class: 'copy-field' }, field, h('div', { class: 'copy-actions' }, button, status));
}

/**
 * Tabs with arrow-key navigation (WAI-ARIA tabs pattern). `tabs` is [{id, label}]; `onSelect(id)` renders
 * the chosen one into the returned panel element.
 */
export function tabList(label, tabs, selected, onSelect) {
  const buttons = tabs.map((tab) =>
    h(
      'button',
      {
        type: 'button',
        role: 'tab',
        class: 'tab',
        'aria-selected': String(tab.id === selected),
        tabindex: tab.id === selected ? '0' : '-1',
        dataset: { tab: tab.id },
        on: { click: () => choose(tab.id, true) },
      },
      tab.label,
    ),
  );
  const list = h('div', { role: 'tablist', 'aria-label': label, class: 'tabs' }, buttons);
  const choose = (id, focus) => {
    for (const b of buttons) {
      const on = b.dataset.tab === id;
      b.setAttribute('aria-selected', String(on));
      b.tabIndex = on ? 0 : -1;
      if (on && focus) b.focus();
    }
    onSelect(id);
  };
  list.addEventListener('keydown', (event) => {
    const i = buttons.indexOf(document.activeElement);
    if (i < 0) return;
    const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: buttons.length - 1 }[event.key];
    if (next === undefined) return;
    event.preventDefault();
    choose(buttons[(next + buttons.length) % buttons.length].dataset.tab, true);
  });
  return list;
}
