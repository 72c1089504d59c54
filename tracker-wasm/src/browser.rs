//! The browser layer: listeners, DOM reads and `sendBeacon`. Decisions are delegated to the pure modules;
//! this file only moves values between them and the page.
//!
//! Size is the constraint here (the whole tracker must stay under 8 KB gzipped), so the page is reached
//! through a handful of generic imports — `Reflect.get`/`set` with the key as a Rust string, one
//! `Function.prototype.call`, `Object.is` against a Rust string — instead of a typed binding per DOM method
//! (js-sys and web-sys would add glue and table entries for every one). Every callback arrives through one
//! exported function, `dispatch`, which the loader hands back to `start`: DOM events, animation frames and
//! IntersectionObserver batches alike. Values the tracker only compares or passes on stay in JavaScript;
//! only what goes into a payload is copied into the module.
use std::cell::RefCell;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::engagement::{scroll_percent, Engagement};
use crate::json;
use crate::payload::{self, Batch, Head, Prop};
use crate::url;

const OPT_OUT_KEY: &str = "footfall_optout";

/// The events `dispatch` handles, told apart by their place here; `start` listens to each where it fires.
const EVENTS: [&str; 12] = [
    // 0–1: on the document, capturing (before a page's handler can stop them).
    "click",
    "submit",
    // 2: on the document.
    "visibilitychange",
    // 3–5, on the window: the page gains or loses its reader, or closes.
    "focus",
    "blur",
    "pagehide",
    // 6–10: on the window. The loader announces `pushState`/`replaceState` as `footfall:nav`.
    "pageshow",
    "scroll",
    "popstate",
    "hashchange",
    "footfall:nav",
    // 11: on `window.navigation` (the Navigation API), where there is one.
    "navigatesuccess",
];

#[wasm_bindgen]
extern "C" {
    /// Throws on a non-object and where a getter does (`localStorage` when storage is blocked).
    #[wasm_bindgen(js_namespace = Reflect, js_name = get, catch)]
    fn reflect_get(target: &JsValue, key: &str) -> Result<JsValue, JsValue>;
    /// Only on arrays and node lists known to hold `index`.
    #[wasm_bindgen(js_namespace = Reflect, js_name = get)]
    fn item(list: &JsValue, index: u32) -> JsValue;
    /// Only on objects the tracker made.
    #[wasm_bindgen(js_namespace = Reflect, js_name = set)]
    fn set(target: &JsValue, key: &str, value: &JsValue);
    /// `value === text`, compared in JavaScript: the value is not copied into the module.
    #[wasm_bindgen(js_namespace = Object, js_name = is)]
    fn same(value: &JsValue, text: &str) -> bool;
    /// `Object()`: a new empty object.
    #[wasm_bindgen(js_name = Object)]
    fn new_object() -> JsValue;
    #[wasm_bindgen(js_name = IntersectionObserver)]
    type Observer;
    /// Throws where there is no IntersectionObserver.
    #[wasm_bindgen(constructor, catch)]
    fn new(callback: &JsValue) -> Result<Observer, JsValue>;
    type Method;
    /// `method.call(this, a, b, c)`; throws when `method` is not a function, or when it throws.
    #[wasm_bindgen(method, js_name = call, catch)]
    fn apply(method: &Method, this: &JsValue, a: &JsValue, b: &JsValue, c: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_namespace = performance)]
    fn now() -> f64;
    #[wasm_bindgen(js_namespace = Date, js_name = now)]
    fn date_now() -> f64;
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
    get(object, key).as_f64().unwrap_or(0.0)
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
    navigator: JsValue,
    /// `localStorage`; undefined where storage is blocked.
    storage: JsValue,
    /// `dispatch`, as a JavaScript function: the listener of every event.
    handler: JsValue,
    /// The loader's settings from the script tag: `site`, `api` (the endpoint), `hash`, `exclude`, `group`
    /// (used when the page has no `footfall:group` meta tag) and `local`; read where they are used.
    config: JsValue,
    /// A development host not allowed by the site (the loader tells, as its fallback needs to know too).
    local: bool,
    /// The current page is one the site asked not to count.
    excluded: bool,
    opted_out: bool,
    /// The current page (cleaned) and its page-view id; empty before the first page view.
    url: String,
    pv: String,
    engagement: Engagement,
    measure_scheduled: bool,
    /// The IntersectionObserver of `[data-section]` elements (undefined where there is none).
    sections: JsValue,
}

thread_local! {
    static TRACKER: RefCell<Option<Tracker>> = const { RefCell::new(None) };
}

fn with(f: impl FnOnce(&mut Tracker)) {
    TRACKER.with(|t| {
        if let Ok(mut t) = t.try_borrow_mut() {
            if let Some(t) = t.as_mut() {
                f(t);
            }
        }
    });
}

/// Called once by the loader with the script tag's settings, the global object and `dispatch`.
#[wasm_bindgen]
pub fn start(config: JsValue, window: JsValue, handler: JsValue) {
    let location = get(&window, "location");
    let storage = get(&window, "localStorage");
    let document = get(&window, "document");
    let options = new_object();
    set(&options, "passive", &JsValue::TRUE);
    let navigation = get(&window, "navigation");
    for (i, name) in EVENTS.iter().enumerate() {
        let target = match i {
            0..=2 => &document,
            11 => &navigation,
            _ => &window,
        };
        set(&options, "capture", &JsValue::from_bool(i < 2));
        call(target, "addEventListener", &JsValue::from_str(name), &handler, &options);
    }
    let tracker = Tracker {
        local: truthy(&config, "local"),
        excluded: false,
        opted_out: same(&call_s(&storage, "getItem", OPT_OUT_KEY), "1"),
        url: String::new(),
        pv: String::new(),
        engagement: Engagement::default(),
        measure_scheduled: false,
        sections: Observer::new(&handler).map(JsValue::from).unwrap_or(JsValue::UNDEFINED),
        navigator: get(&window, "navigator"),
        document,
        location,
        storage,
        window,
        handler,
        config,
    };
    // `start` runs once; nothing is there to drop.
    TRACKER.with(|t| std::mem::forget(t.borrow_mut().replace(tracker)));
    with(|t| t.navigate(true));
}

/// Every callback: an animation frame (a number), IntersectionObserver entries (an array) or a DOM event.
#[wasm_bindgen]
pub fn dispatch(arg: JsValue) {
    with(|t| {
        if arg.as_f64().is_some() {
            return t.measure();
        }
        let kind = get(&arg, "type");
        let Some(event) = EVENTS.iter().position(|name| same(&kind, name)) else {
            // IntersectionObserver entries.
            for i in 0..length(&arg) {
                let entry = item(&arg, i);
                let name = call_s(&get(&entry, "target"), "getAttribute", "data-section").as_string();
                if let Some(name) = name {
                    t.engagement.section_in_view(now(), payload::cut(&name, 64), truthy(&entry, "isIntersecting"));
                }
            }
            return;
        };
        let mut batch = Batch::new();
        let target = get(&arg, "target");
        match event {
            0 => {
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
            1 => {
                if call_s(&target, "hasAttribute", "data-footfall").is_truthy() {
                    t.tagged_interaction(&mut batch, &target);
                }
            }
            2..=5 => {
                // Engaged means visible *and* focused: a tab behind another window is not being read.
                let active = event != 5 && t.page_active();
                t.engagement.set_active(now(), active);
                if !active {
                    t.engagement_event(&mut batch);
                }
            }
            // A page restored from the back/forward cache is a new page view of the same URL.
            6 => {
                if truthy(&arg, "persisted") {
                    t.navigate(true)
                }
            }
            7 => t.schedule_measure(),
            _ => t.navigate(false),
        }
        t.send(batch);
    });
}

/// `footfall(verb, a, b)` once the module has loaded (the loader replays what was queued before).
#[wasm_bindgen]
pub fn command(verb: JsValue, a: JsValue, b: JsValue) {
    with(|t| {
        let mut batch = Batch::new();
        if same(&verb, "track") {
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
        } else if same(&verb, "identify") {
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
        } else if same(&verb, "optout") {
            call(&t.storage, "setItem", &JsValue::from_str(OPT_OUT_KEY), &JsValue::from_str("1"), &JsValue::UNDEFINED);
            t.opted_out = true;
        } else if same(&verb, "optin") {
            call_s(&t.storage, "removeItem", OPT_OUT_KEY);
            t.opted_out = false;
        } else if same(&verb, "pageview") {
            t.navigate(true);
        }
        t.send(batch);
    });
}

impl Tracker {
    /// Engaged means visible *and* focused: a tab behind another window is not being read.
    #[inline(never)]
    fn page_active(&self) -> bool {
        is(&self.document, "visibilityState", "visible")
            && call1(&self.document, "hasFocus", &JsValue::UNDEFINED).is_truthy()
    }

    /// `JSON.stringify(value)`, or `""` where there is no JSON for it (`undefined`, functions, BigInt).
    #[inline(never)]
    fn json(&self, value: &JsValue) -> String {
        string(&call1(&get(&self.window, "JSON"), "stringify", value))
    }

    /// Opens an event of `kind` on the current page, with the fields every event carries.
    #[inline(never)]
    fn open(&self, batch: &mut Batch, kind: &str) {
        let meta = call_s(&self.document, "querySelector", "meta[name='footfall:group']");
        let mut group = text(&meta, "content");
        if group.is_empty() {
            group = text(&self.config, "group");
        }
        batch.open(&Head {
            kind,
            id: &new_id(),
            site: &text(&self.config, "site"),
            url: &self.url,
            pv: &self.pv,
            group: &group,
            ts: date_now() as i64,
            webdriver: truthy(&self.navigator, "webdriver"),
            dnt: truthy(&self.navigator, "globalPrivacyControl") || is(&self.navigator, "doNotTrack", "1"),
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
        if self.opted_out || self.local || self.excluded {
            return;
        }
        let body = JsValue::from_str(&body);
        let endpoint = get(&self.config, "api");
        // sendBeacon survives the page unloading; fetch with keepalive where beacons are refused.
        if !call(&self.navigator, "sendBeacon", &endpoint, &body, &JsValue::UNDEFINED).is_truthy() {
            let init = new_object();
            set(&init, "method", &JsValue::from_str("POST"));
            set(&init, "body", &body);
            set(&init, "keepalive", &JsValue::TRUE);
            call(&self.window, "fetch", &endpoint, &init, &JsValue::UNDEFINED);
        }
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
        if !first {
            self.engagement_event(&mut batch);
        }
        self.url = cleaned;
        self.excluded = url::is_excluded(&text(&self.location, "pathname"), &text(&self.config, "exclude"));
        self.pv = new_id();
        self.engagement = Engagement::new(now(), self.page_active());
        self.open(&mut batch, "pageview");
        if first {
            batch.str("referrer", &text(&self.document, "referrer"), url::MAX_URL);
        }
        batch.str("title", &text(&self.document, "title"), 512);
        batch.int("screen", number(&self.window, "innerWidth") as i64);
        batch.close();
        self.send(batch);
        call1(&self.sections, "disconnect", &JsValue::UNDEFINED);
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
        let height = number(&get(d, "documentElement"), "scrollHeight").max(number(&get(d, "body"), "scrollHeight"));
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
        let names = call1(element, "getAttributeNames", &JsValue::UNDEFINED);
        for i in 0..length(&names) {
            let name = string(&item(&names, i));
            if let Some(key) = name.strip_prefix("data-footfall-") {
                batch.prop(key, Prop::Text(&attribute(element, &name)));
            }
        }
        batch.close2();
    }
}
