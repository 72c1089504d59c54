// Footfall loader: the only script a site embeds. It keeps calls made before the tracker is ready, announces
// SPA navigations, and loads the WebAssembly tracker; where WebAssembly cannot run (disabled, CSP), it still
// sends the page view itself. Built into dist/t.js (minified, names of the hashed files filled in). Arrow
// functions where neither `this` nor `arguments` is used: a browser with `import()` has them.
(function (w, d, h) {
  var s = d.currentScript, q = (w.footfall && w.footfall.q) || [];
  var a = (n) => s.getAttribute('data-' + n);
  var api = a('api') || new URL(s.src).origin, l = location, n = navigator;
  // What the tracker and the fallback below both need, read once: `local`, a development host (localhost, a
  // loopback address, a file) the site did not allow, from which nothing is sent; `out`, the visitor's opt-out;
  // the signals sent with every event (Do-Not-Track or Global Privacy Control, an automated browser).
  var cfg = { site: a('site'), api: api + '/api/event', hash: a('hash') != null, exclude: a('exclude'),
    group: a('group'), local: a('allow-localhost') == null &&
      (/^(localhost|\[::1\]|)$|^127\.|\.localhost$/.test(l.hostname) || l.protocol == 'file:'),
    dnt: n.globalPrivacyControl || n.doNotTrack == '1', webdriver: n.webdriver };
  try { cfg.out = localStorage.footfall_optout == '1' } catch (e) {}
  // Said once per page load: a silent development page looks like a broken installation.
  cfg.local && console.info('Footfall: add data-allow-localhost to count local pages');
  // The tracker's way out too: sendBeacon survives the page unloading; fetch with keepalive where beacons are
  // refused.
  cfg.send = (b) => n.sendBeacon(cfg.api, b) || fetch(cfg.api, { method: 'POST', body: b, keepalive: true });
  var f = w.footfall = function () { q.push(arguments) };
  f.q = q;
  // Every kind of navigation within the page reaches the tracker as `footfall('nav')` once the router has
  // drawn the new page (after the current task), so the page view carries the new title and page group:
  // history changes fire no event of their own, and on back/forward Chromium fires `navigatesuccess` before
  // `popstate`, the event routers redraw on. Before the tracker has loaded, the queue keeps it (a no-op then).
  var nav = () => setTimeout(() => w.footfall('nav'));
  ['pushState', 'replaceState'].forEach((m) => {
    var o = h[m];
    h[m] = function () {
      nav();
      return o.apply(this, arguments);
    };
  });
  addEventListener('popstate', nav);
  addEventListener('hashchange', nav);
  // Routers built on the Navigation API change the address without `pushState`.
  w.navigation && navigation.addEventListener('navigatesuccess', nav);
  var fallback = () => cfg.out || cfg.local || cfg.send(JSON.stringify({ site: cfg.site, type: 'pageview',
    url: l.href.split('#')[0], referrer: d.referrer, title: d.title, screen: innerWidth, webdriver: cfg.webdriver,
    dnt: cfg.dnt }));
  var base = api + '/tracker/';
  import(base + '__GLUE__').then((m) => m.default(base + '__WASM__').then(() => {
    // The tracker's exported `dispatch` becomes the listener of every event it registers.
    m.start(cfg, w, m.dispatch);
    w.footfall = m.command;
    q.forEach((args) => m.command.apply(w, args));
  })).catch(fallback);
})(window, document, history);
