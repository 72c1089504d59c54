//! The browser layer: listeners, DOM reads and sending. Decisions are delegated to the pure modules; this file
//! only moves values between them and the page.
//!
//! Size is the constraint here (the whole tracker must stay under 8 KB gzipped), so the page is reached
//! through a handful of generic imports — `Reflect.get` with the key as a Rust string, one
//! `Function.prototype.call`, `Object.is` against a Rust string, `Number` — instead of a typed binding per DOM
//! method (js-sys and web-sys would add glue and table entries for every one). Every callback arrives through
//! one exported function, `dispatch`, which the loader hands back to `start`: DOM events, animation frames and
//! IntersectionObserver batches alike. Values the tracker only compares or passes on stay in JavaScript;
//! only what goes into a payload is copied into the module. What the loader needs for its own fallback page
//! view too (the development-host check, the opt-out, the DNT/GPC and webdriver signals, and `send`: a
//! beacon, or `fetch` with keepalive) it works out once and passes in its settings.
use std::cell::Cell;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::engagement::{scroll_percent, Engagement};
use crate::json;
use crate::payload::{self, Batch, Head, Prop};
use crate::url;

const OPT_OUT_KEY: &str = "footfall_optout";

/// The events `dispatch` handles, then the verbs of `footfall(verb, …)`, as a JSON array: `start` makes it a
/// JavaScript array once, and an event or verb is told apart by its place in it, found by `indexOf` (no table
/// of Rust strings, no comparison in the module). `start` listens to each event where it fires:
/// - 0–1 on the document, capturing (before a page's handler can stop them); 2 on the document;
/// - 3–5 on the window, the page gains or loses its reader or closes; 6–7 on the window.
///
/// Navigations within the page (history, back/forward, fragment, Navigation API) are no event here: the loader
/// sees them all and says `footfall('nav')` once the router has drawn the new page. Last, after the verbs, the
/// listener options of all but the capturing listeners.
const NAMES: &str = r#"["click","submit","visibilitychange","focus","blur","pagehide","pageshow","scroll","track",
"identify","optout","optin","pageview","nav",{"passive":true}]"#;

#[wasm_bindgen]
extern "C" {
    /// Throws on a non-object and where a getter does (`localStorage` when storage is blocked).
    #[wasm_bindgen(js_namespace = Reflect, js_name = get, catch)]
    fn reflect_get(target: &JsValue, key: &str) -> Result<JsValue, JsValue>;
    /// Only on arrays and node lists known to hold `index`.
    #[wasm_bindgen(js_namespace = Reflect, js_name = get)]
    fn item(list: &JsValue, index: u32) -> JsValue;
    /// `value === text`, compared in JavaScript: the value is not copied into the module.
    #[wasm_bindgen(js_namespace = Object, js_name = is)]
    fn same(value: &JsValue, text: &str) -> bool;
    type Method;
    /// `method.call(this, a, b, c)`; throws when `method` is not a function, or when it throws.
    #[wasm_bindgen(method, js_name = call, catch)]
    fn apply(method: &Method, this: &JsValue, a: &JsValue, b: &JsValue, c: &JsValue) -> Result<JsValue, JsValue>;
    /// `new IntersectionObserver(callback)`: only where there is one.
    #[wasm_bindgen(js_name = IntersectionObserver)]
    type Observer;
    #[wasm_bindgen(constructor)]
    fn new(callback: &JsValue) -> Observer;
    #[wasm_bindgen(js_namespace = Date, js_name = now)]
    fn date_now() -> f64;
    /// `Number(value)`: NaN for an event, an array of entries or `undefined`; never throws on what the tracker
    /// passes (no symbols, no BigInt).
    #[wasm_bindgen(js_name = Number)]
    fn to_number(value: &JsValue) -> f64;
    #[wasm_bindgen(js_namespace = performance)]
    fn now() -> f64;
    #[wasm_bindgen(js_namespace = Math)]
    fn random() -> f64;
}

/// `object[key]`; `undefined` when it cannot be read.
#[inline(never)]
fn get(object: &JsValue, key: &str) -> JsValue {
    reflect_get(object, key).unwrap_or(JsValue::UNDEFINED)
}

/// What a value is as text: itself when it is a string, `""` otherwise.
#[inline(never)]
fn string(value: &JsValue) -> String {
    value.as_string().unwrap_or_default()
}

/// A string property, or `""` when it is none.
#[inline(never)]
fn text(object: &JsValue, key: &str) -> String {
    string(&get(object, key))
}

#[inline(never)]
fn number(object: &JsValue, key: &str) -> f64 {
    let n = to_number(&get(object, key));
    if n.is_nan() {
        0.0
    } else {
        n
    }
}

#[inline(never)]
fn truthy(object: &JsValue, key: &str) -> bool {
    get(object, key).is_truthy()
}

/// `object[key] === value`.
#[inline(never)]
fn is(object: &JsValue, key: &str, value: &str) -> bool {
    same(&get(object, key), value)
}

/// `object.method(a, b, c)`; `undefined` when it is missing or throws. Unused arguments are `undefined`.
#[inline(never)]
fn call(object: &JsValue, method: &str, a: &JsValue, b: &JsValue, c: &JsValue) -> JsValue {
    get(object, method).unchecked_ref::<Method>().apply(object, a, b, c).unwrap_or(JsValue::UNDEFINED)
}

/// `object.method()`.
#[inline(never)]
fn call0(object: &JsValue, method: &str) -> JsValue {
    call1(object, method, &JsValue::UNDEFINED)
}

/// `object.method(argument)`.
#[inline(never)]
fn call1(object: &JsValue, method: &str, argument: &JsValue) -> JsValue {
    call(object, method, argument, &JsValue::UNDEFINED, &JsValue::UNDEFINED)
}

/// `object.method("argument")`.
#[inline(never)]
fn call_s(object: &JsValue, method: &str, argument: &str) -> JsValue {
    call1(object, method, &JsValue::from_str(argument))
}

/// `element.getAttribute(name)`, or `""` when there is none.
#[inline(never)]
fn attribute(element: &JsValue, name: &str) -> String {
    string(&call_s(element, "getAttribute", name))
}

/// The length of an array or node list (0 for anything else).
#[inline(never)]
fn length(list: &JsValue) -> u32 {
    number(list, "length") as u32
}

/// A new random id (a version 4 UUID).
#[inline(never)]
fn new_id() -> String {
    payload::uuid(|| (random() * 4_294_967_296.0) as u32)
}

/// The tracker's state for the page, behind the one exported entry point of each kind.
struct Tracker {
    window: JsValue,
    document: JsValue,
    location: JsValue,
    /// `dispatch`, as a JavaScript function: the listener of every event.
    handler: JsValue,
    /// `NAMES` as a JavaScript array.
    names: JsValue,
    /// The loader's settings: `site`, `hash`, `exclude`, `group` (used when the page has no `footfall:group`
    /// meta tag) from the script tag; `local`, `out`, `dnt`, `webdriver` and `send`, which the loader works out
    /// for its fallback too. Read where they are used.
    config: JsValue,
    /// Nothing is sent from the current page: a development host not allowed by the site (the loader tells,
    /// as its fallback needs to know too), or a page the site asked not to count.
    excluded: bool,
    opted_out: bool,
    /// The current page (cleaned), its page-view id and its page group, as they were when it was viewed: every
    /// later event of the page (its engagement, sent with the next page view once the router has drawn that
    /// one, and its interactions) belongs to it. Empty before the first page view.
    url: String,
    pv: String,
    group: String,
    engagement: Engagement,
    measure_scheduled: bool,
    /// The IntersectionObserver of `[data-section]` elements (undefined where there is none).
    sections: JsValue,
}

thread_local! {
    /// Taken out while an entry point runs: a call made meanwhile (an event the tracker's own work fires)
    /// finds nothing and returns.
    static TRACKER: Cell<Option<Box<Tracker>>> = const { Cell::new(None) };
}

/// Runs `f` on the tracker, once `start` has made it.
fn with(f: impl FnOnce(&mut Tracker)) {
    if let Some(mut t) = TRACKER.take() {
        f(&mut t);
        // The cell is empty while `f` runs: nothing is there to drop.
        std::mem::forget(TRACKER.replace(Some(t)));
    }
}

/// Called once by the loader with the script tag's settings, the global object and `dispatch`.
#[wasm_bindgen]
pub fn start(config: JsValue, window: JsValue, handler: JsValue) {
    let location = get(&window, "location");
    let document = get(&window, "document");
    let names = call_s(&get(&window, "JSON"), "parse", NAMES);
    let passive = item(&names, 14);
    for i in 0..8 {
        // `true`: capturing (the tracker never cancels an event, so passive or not makes no difference there).
        let (target, options) = match i {
            0 | 1 => (&document, &JsValue::TRUE),
            2 => (&document, &passive),
            _ => (&window, &passive),
        };
        call(target, "addEventListener", &item(&names, i), &handler, options);
    }
    let mut tracker = Box::new(Tracker {
        excluded: false,
        opted_out: truthy(&config, "out"),
        url: String::new(),
        pv: String::new(),
        group: String::new(),
        engagement: Engagement::default(),
        measure_scheduled: false,
        sections: match truthy(&window, "IntersectionObserver") {
            true => Observer::new(&handler).into(),
            false => JsValue::UNDEFINED,
        },
        document,
        location,
        window,
        handler,
        config,
        names,
    });
    tracker.navigate(true);
    // `start` runs once; nothing is there to drop.
    std::mem::forget(TRACKER.replace(Some(tracker)));
}

/// Every callback: an animation frame (a number), IntersectionObserver entries (an array) or a DOM event.
#[wasm_bindgen]
pub fn dispatch(arg: JsValue) {
    with(|t| {
        if !to_number(&arg).is_nan() {
            return t.measure();
        }
        let event = t.place(&get(&arg, "type"));
        if event == 0 {
            // IntersectionObserver entries.
            for i in 0..length(&arg) {
                let entry = item(&arg, i);
                // An empty name is no section (the collector refuses empty keys).
                let name = attribute(&get(&entry, "target"), "data-section");
                if !name.is_empty() {
                    t.engagement.section_in_view(now(), payload::cut(&name, 64), truthy(&entry, "isIntersecting"));
                }
            }
            return;
        }
        let mut batch = Batch::new();
        let target = get(&arg, "target");
        // 1 + the event's place in `NAMES`.
        match event {
            1 => {
                let tagged = call_s(&target, "closest", "[data-footfall]");
                // Forms count when submitted, not when clicked into.
                if tagged.is_truthy() && !is(&tagged, "tagName", "FORM") {
                    t.tagged_interaction(&mut batch, &tagged);
                }
                let link = call_s(&target, "closest", "a[href]");
                let mut host = text(&link, "host");
                if !host.is_empty() && !is(&t.location, "host", &host) && text(&link, "protocol").starts_with("http") {
                    t.interaction(&mut batch, "outbound");
                    json::push(&mut host, &text(&link, "pathname"));
                    batch.prop("url", Prop::Text(&host));
                    batch.close2();
                }
            }
            2 => {
                if call_s(&target, "hasAttribute", "data-footfall").is_truthy() {
                    t.tagged_interaction(&mut batch, &target);
                }
            }
            3..=6 => {
                // Engaged means visible *and* focused: a tab behind another window is not being read.
                let active = event != 6 && t.page_active();
                t.engagement.set_active(now(), active);
                if !active {
                    t.engagement_event(&mut batch);
                }
            }
            // A page restored from the back/forward cache is a new page view of the same URL.
            7 => {
                if truthy(&arg, "persisted") {
                    t.navigate(true)
                }
            }
            _ => t.schedule_measure(),
        }
        t.send(batch);
    });
}

/// `footfall(verb, a, b)` once the module has loaded (the loader replays what was queued before).
#[wasm_bindgen]
pub fn command(verb: JsValue, a: JsValue, b: JsValue) {
    with(|t| {
        let mut batch = Batch::new();
        match t.place(&verb) {
            9 => {
                t.interaction(&mut batch, &string(&a));
                // Nothing but an object has keys whose values can be read (`Object.keys` throws on undefined,
                // reading from a primitive throws): anything else leaves `props` empty.
                let keys = call1(&get(&t.window, "Object"), "keys", &b);
                for i in 0..length(&keys) {
                    let key = string(&item(&keys, i));
                    let value = get(&b, &key);
                    match value.as_string() {
                        Some(text) => batch.prop(&key, Prop::Text(&text)),
                        None => batch.prop(&key, Prop::Json(&t.json(&value))),
                    }
                }
                batch.close2();
            }
            10 => {
                // A string, or a number as JavaScript writes it.
                let mut user = string(&a);
                if user.is_empty() {
                    user = t.json(&a);
                    if !payload::is_scalar(&user, false) {
                        user.clear();
                    }
                }
                if !user.is_empty() {
                    t.open(&mut batch, "identify");
                    batch.str("user", &user, 128);
                    batch.flag("remember", truthy(&b, "remember"));
                    batch.close();
                }
            }
            // `localStorage` is undefined where storage is blocked: the opt-out then lasts for the page.
            11 => {
                let one = JsValue::from_str("1");
                call(&t.storage(), "setItem", &JsValue::from_str(OPT_OUT_KEY), &one, &JsValue::UNDEFINED);
                t.opted_out = true;
            }
            12 => {
                call_s(&t.storage(), "removeItem", OPT_OUT_KEY);
                t.opted_out = false;
            }
            // `pageview` counts the page even when it is the one already counted; the loader's `nav` only a new
            // address.
            13 => t.navigate(true),
            14 => t.navigate(false),
            _ => {}
        }
        t.send(batch);
    });
}

impl Tracker {
    fn storage(&self) -> JsValue {
        get(&self.window, "localStorage")
    }

    /// 1 + the place of `name` in `NAMES`, or 0 when it is not there.
    #[inline(never)]
    fn place(&self, name: &JsValue) -> u32 {
        (to_number(&call1(&self.names, "indexOf", name)) + 1.0) as u32
    }

    /// Engaged means visible *and* focused: a tab behind another window is not being read.
    #[inline(never)]
    fn page_active(&self) -> bool {
        is(&self.document, "visibilityState", "visible") && call0(&self.document, "hasFocus").is_truthy()
    }

    /// `JSON.stringify(value)`, or `""` where there is no JSON for it (`undefined`, functions, BigInt).
    #[inline(never)]
    fn json(&self, value: &JsValue) -> String {
        string(&call1(&get(&self.window, "JSON"), "stringify", value))
    }

    /// Opens an event of `kind` on the current page, with the fields every event carries.
    #[inline(never)]
    fn open(&self, batch: &mut Batch, kind: &str) {
        batch.open(&Head {
            kind,
            id: &new_id(),
            site: &text(&self.config, "site"),
            url: &self.url,
            pv: &self.pv,
            group: &self.group,
            ts: date_now() as i64,
            webdriver: truthy(&self.config, "webdriver"),
            dnt: truthy(&self.config, "dnt"),
        });
    }

    /// Opens an interaction named `name` and its `props`, which `Batch::close2` ends.
    #[inline(never)]
    fn interaction(&self, batch: &mut Batch, name: &str) {
        self.open(batch, "interaction");
        batch.str("name", name, 64);
        batch.object("props");
    }

    /// Sends the batch unless it is empty or the visitor is not counted: opted out, a development host not
    /// allowed, an excluded page.
    #[inline(never)]
    fn send(&self, batch: Batch) {
        let Some(body) = batch.finish() else { return };
        if self.opted_out || self.excluded {
            return;
        }
        // The loader's `send`, which its own fallback uses too: `sendBeacon` (it survives the page unloading),
        // `fetch` with keepalive where beacons are refused.
        call1(&self.config, "send", &JsValue::from_str(&body));
    }

    /// The current page's engagement since its last report, if there is any worth sending.
    #[inline(never)]
    fn engagement_event(&mut self, batch: &mut Batch) {
        let Some(report) = self.engagement.take_report(now()) else { return };
        self.open(batch, "engagement");
        batch.int("engaged_ms", report.engaged_ms);
        batch.int("scroll", report.scroll as i64);
        batch.sections(self.engagement.reported_sections());
        batch.close();
    }

    /// A page view for the current address, unless it is the page already counted (`force`: count it anyway,
    /// as after a back/forward-cache restore). The previous page's engagement goes in the same beacon.
    #[inline(never)]
    fn navigate(&mut self, force: bool) {
        let cleaned = url::clean(&text(&self.location, "href"), truthy(&self.config, "hash"));
        if cleaned == self.url && !force {
            return;
        }
        let first = self.url.is_empty();
        let mut batch = Batch::new();
        // Nothing before the first page view: no report.
        self.engagement_event(&mut batch);
        self.url = cleaned;
        self.excluded = truthy(&self.config, "local")
            || url::is_excluded(&text(&self.location, "pathname"), &text(&self.config, "exclude"));
        self.pv = new_id();
        let meta = call_s(&self.document, "querySelector", "meta[name='footfall:group']");
        self.group = text(&meta, "content");
        if self.group.is_empty() {
            self.group = text(&self.config, "group");
        }
        self.engagement = Engagement::new(now(), self.page_active());
        self.open(&mut batch, "pageview");
        if first {
            batch.str("referrer", &text(&self.document, "referrer"), url::MAX_URL);
        }
        batch.str("title", &text(&self.document, "title"), 512);
        batch.int("screen", number(&self.window, "innerWidth") as i64);
        batch.close();
        self.send(batch);
        call0(&self.sections, "disconnect");
        self.schedule_measure();
    }

    fn schedule_measure(&mut self) {
        if !self.measure_scheduled {
            self.measure_scheduled = true;
            call1(&self.window, "requestAnimationFrame", &self.handler);
        }
    }

    /// Runs in an animation frame, never in the scroll handler, so reading the layout forces nothing extra.
    fn measure(&mut self) {
        self.measure_scheduled = false;
        let d = &self.document;
        // The element that scrolls the page: the root element, or `body` in quirks mode.
        let height = number(&get(d, "scrollingElement"), "scrollHeight");
        let seen = scroll_percent(number(&self.window, "scrollY"), number(&self.window, "innerHeight"), height);
        self.engagement.observe_scroll(seen);
        // Sections of a freshly rendered page are (re)observed here, after the framework has drawn them.
        let nodes = call_s(d, "querySelectorAll", "[data-section]");
        for i in 0..length(&nodes).min(30) {
            call1(&self.sections, "observe", &item(&nodes, i));
        }
    }

    /// `data-footfall="name"` names the interaction; every `data-footfall-KEY="value"` is a property.
    #[inline(never)]
    fn tagged_interaction(&self, batch: &mut Batch, element: &JsValue) {
        self.interaction(batch, &attribute(element, "data-footfall"));
        let names = call0(element, "getAttributeNames");
        for i in 0..length(&names) {
            let name = string(&item(&names, i));
            if let Some(key) = name.strip_prefix("data-footfall-") {
                batch.prop(key, Prop::Text(&attribute(element, &name)));
            }
        }
        batch.close2();
    }
}
