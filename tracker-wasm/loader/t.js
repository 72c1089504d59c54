// Footfall loader: the only script a site embeds. It keeps calls made before the tracker is ready, announces
// SPA navigations, and loads the WebAssembly tracker; where WebAssembly cannot run (disabled, CSP), it still
// sends the page view itself. Built into dist/t.js (minified, names of the hashed files filled in).
(function (w, d, h) {
  var s = d.currentScript, q = (w.footfall && w.footfall.q) || [];
  var a = function (n) { return s.getAttribute('data-' + n) };
  var api = a('api') || new URL(s.src).origin, l = location;
  // `local`: a development host (localhost, a loopback address, a file) the site did not allow; neither the
  // tracker nor the fallback below sends anything from one.
  var cfg = { site: a('site'), api: api + '/api/event', hash: a('hash') != null, exclude: a('exclude') || '',
    group: a('group'), local: a('allow-localhost') == null &&
      (/^(localhost|\[::1\]|)$|^127\.|\.localhost$/.test(l.hostname) || l.protocol == 'file:') };
  var f = w.footfall = function () { q.push(arguments) };
  f.q = q;
  // History changes fire no event of their own; tell the tracker once the router has drawn the new page
  // (after the current task), so the page view carries the new title and page group.
  ['pushState', 'replaceState'].forEach(function (m) {
    var o = h[m];
    h[m] = function () {
      var r = o.apply(this, arguments);
      setTimeout(function () { w.dispatchEvent(new Event('footfall:nav')) });
      return r;
    };
  });
  var fallback = function () {
    try { if (localStorage.footfall_optout == '1') return } catch (e) {}
    if (cfg.local) return;
    navigator.sendBeacon(cfg.api, JSON.stringify({ site: cfg.site, type: 'pageview', url: l.href.split('#')[0],
      referrer: d.referrer || null, title: d.title, screen: innerWidth, webdriver: !!navigator.webdriver }));
  };
  var base = api + '/tracker/';
  import(base + '__GLUE__').then(function (m) {
    return m.default(base + '__WASM__').then(function () {
      // The tracker's exported `dispatch` becomes the listener of every event it registers.
      m.start(cfg, w, m.dispatch);
      w.footfall = m.command;
      q.forEach(function (args) { m.command.apply(w, args) });
    });
  }).catch(fallback);
})(window, document, history);
