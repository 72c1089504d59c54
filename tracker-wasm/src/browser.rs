//! The browser layer: listeners, DOM reads and `sendBeacon`. Decisions are delegated to the pure modules;
//! this file only moves values between them and the page.
//!
//! Size is the constraint here (the whole tracker must stay under 8 KB gzipped), so the page is reached
//! through a handful of generic imports — `Reflect.get`/`set` with the key as a Rust string, and one
//! `Function.prototype.call` — instead of a typed binding per DOM method (js-sys and web-sys would add glue
//! and table entries for every one). Every callback arrives through one exported function, `dispatch`, which
//! the loader hands back to `start`: DOM events, animation frames and IntersectionObserver batches alike.
use std::cell::RefCell;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::engagement::{scroll_percent, Engagement};
use crate::payload::{self, Batch, Head, Prop};
use crate::url;

const OPT_OUT_KEY: &str = "footfall_optout";

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
    fn reflect_set(target: &JsValue, key: &str, value: &JsValue) -> bool;
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

/// A string property, or `""` when it is none.
#[inline(never)]
fn text(object: &JsValue, key: &str) -> String {
    get(object, key).as_string().unwrap_or_default()
}

#[inline(never)]
fn number(object: &JsValue, key: &str) -> f64 {
    get(object, key).as_f64().unwrap_or(0.0)
}

#[inline(never)]
fn truthy(object: &JsValue, key: &str) -> bool {
    get(object, key).is_truthy()
}

#[inline(never)]
fn set(object: &JsValue, key: &str, value: &JsValue) {
    reflect_set(object, key, value);
}

/// `object.method(a, b, c)`; `undefined` when it is missing or throws. Unused arguments are `undefined`.
#[inline(never)]
fn call(object: &JsValue, method: &str, a: &JsValue, b: &JsValue, c: &JsValue) -> JsValue {
    get(object, method).unchecked_ref::<Method>().apply(object, a, b, c).unwrap_or(JsValue::UNDEFINED)
}

#[inline(never)]
fn call0(object: &JsValue, method: &str) -> JsValue {
    call(object, method, &JsValue::UNDEFINED, &JsValue::UNDEFINED, &JsValue::UNDEFINED)
}

/// `object.method("argument")`.
#[inline(never)]
fn call_s(object: &JsValue, method: &str, argument: &str) -> JsValue {
    call(object, method, &JsValue::from_str(argument), &JsValue::UNDEFINED, &JsValue::UNDEFINED)
}

/// The length of an array or node list (0 for anything else).
#[inline(never)]
fn length(list: &JsValue) -> u32 {
    number(list, "length") as u32
}

/// Engaged means visible *and* focused: a tab behind another window is not being read.
#[inline(never)]
fn page_active(document: &JsValue) -> bool {
    text(document, "visibilityState") == "visible" && call0(document, "hasFocus").is_truthy()
}

/// The tracker's state for the page, behind the one exported entry point of each kind.
struct Tracker {
    window: JsValue,
    document: JsValue,
    /// `dispatch`, as a JavaScript function: the listener of every event.
    handler: JsValue,
    site: String,
    endpoint: String,
    hash: bool,
    exclude: String,
    /// The page group of the script tag, used when the page has no `footfall:group` meta tag.
    group: String,
    /// A development host not allowed by the site.
    local: bool,
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
    let document = get(&window, "document");
    let location = get(&window, "location");
    let tracker = Tracker {
        site: text(&config, "site"),
        endpoint: text(&config, "api"),
        hash: truthy(&config, "hash"),
        exclude: text(&config, "exclude"),
        group: text(&config, "group"),
        local: !truthy(&config, "local") && url::is_local(&text(&location, "hostname"), &text(&location, "protocol")),
        opted_out: call_s(&get(&window, "localStorage"), "getItem", OPT_OUT_KEY).as_string().is_some_and(|v| v == "1"),
        url: String::new(),
        pv: String::new(),
        engagement: Engagement::default(),
        measure_scheduled: false,
        sections: Observer::new(&handler).map(JsValue::from).unwrap_or(JsValue::UNDEFINED),
        window,
        document,
        handler,
    };
    let options = new_object();
    set(&options, "passive", &JsValue::TRUE);
    let listen = |target: &JsValue, names: &[&str], capture: bool| {
        set(&options, "capture", &JsValue::from_bool(capture));
        for name in names {
            call(target, "addEventListener", &JsValue::from_str(name), &tracker.handler, &options);
        }
    };
    listen(&tracker.document, &["click", "submit"], true);
    listen(&tracker.document, &["visibilitychange"], false);
    let window_events = ["focus", "blur", "pagehide", "pageshow", "popstate", "hashchange", "footfall:nav", "scroll"];
    listen(&tracker.window, &window_events, false);
    listen(&get(&tracker.window, "navigation"), &["navigatesuccess"], false);
    TRACKER.with(|t| *t.borrow_mut() = Some(tracker));
    with(|t| t.navigate(true));
}

/// Every callback: an animation frame (a number), IntersectionObserver entries (an array) or a DOM event.
#[wasm_bindgen]
pub fn dispatch(arg: JsValue) {
    with(|t| {
        if arg.as_f64().is_some() {
            return t.measure();
        }
        let kind = text(&arg, "type");
        if kind.is_empty() {
            // IntersectionObserver entries.
            let time = now();
            for i in 0..length(&arg) {
                let entry = item(&arg, i);
                let name = call_s(&get(&entry, "target"), "getAttribute", "data-section").as_string();
                if let Some(name) = name {
                    t.engagement.section_in_view(time, payload::cut(&name, 64), truthy(&entry, "isIntersecting"));
                }
            }
            return;
        }
        match kind.as_str() {
            "visibilitychange" | "focus" | "blur" | "pagehide" => {
                let active = kind != "pagehide" && page_active(&t.document);
                t.engagement.set_active(now(), active);
                if !active {
                    let mut batch = Batch::new();
                    t.engagement_event(&mut batch);
                    t.send(batch);
                }
            }
            // A page restored from the back/forward cache is a new page view of the same URL.
            "pageshow" => {
                if truthy(&arg, "persisted") {
                    t.navigate(true)
                }
            }
            "popstate" | "hashchange" | "footfall:nav" | "navigatesuccess" => t.navigate(false),
            "scroll" => t.schedule_measure(),
            "click" => t.on_click(&get(&arg, "target")),
            "submit" => {
                let form = get(&arg, "target");
                if call_s(&form, "hasAttribute", "data-footfall").is_truthy() {
                    let mut batch = Batch::new();
                    t.tagged_interaction(&mut batch, &form);
                    t.send(batch);
                }
            }
            _ => {}
        }
    });
}

/// `footfall(verb, a, b)` once the module has loaded (the loader replays what was queued before).
#[wasm_bindgen]
pub fn command(verb: JsValue, a: JsValue, b: JsValue) {
    let verb = verb.as_string().unwrap_or_default();
    with(|t| {
        let storage = get(&t.window, "localStorage");
        let mut batch = Batch::new();
        match verb.as_str() {
            "track" => {
                t.open(&mut batch, "interaction");
                batch.str("name", &a.as_string().unwrap_or_default(), 64);
                batch.object("props");
                {
                    // Nothing but an object has keys whose values can be read (`Object.keys` throws on
                    // undefined, reading from a primitive throws): anything else leaves `props` empty.
                    let keys = call(&get(&t.window, "Object"), "keys", &b, &JsValue::UNDEFINED, &JsValue::UNDEFINED);
                    for i in 0..length(&keys) {
                        let key = item(&keys, i).as_string().unwrap_or_default();
                        let value = get(&b, &key);
                        if let Some(text) = value.as_string() {
                            batch.prop(&key, Prop::Text(&text));
                        } else if let Some(flag) = value.as_bool() {
                            batch.prop(&key, Prop::Bool(flag));
                        } else if value.as_f64().is_some_and(f64::is_finite) {
                            // JavaScript's own `String(n)`: the shortest text that reads back as the same
                            // number — without Rust's float formatting in the module.
                            let n = call(&t.window, "String", &value, &JsValue::UNDEFINED, &JsValue::UNDEFINED);
                            batch.prop(&key, Prop::Number(&n.as_string().unwrap_or_default()));
                        }
                    }
                }
                batch.close();
                batch.close();
            }
            "identify" => {
                let user = a.as_string().or_else(|| a.as_f64().map(|n| js_string(&t.window, n)));
                if let Some(user) = user.filter(|u| !u.is_empty()) {
                    t.open(&mut batch, "identify");
                    batch.str("user", &user, 128);
                    batch.flag("remember", truthy(&b, "remember"));
                    batch.close();
                }
            }
            "optout" => {
                call(
                    &storage,
                    "setItem",
                    &JsValue::from_str(OPT_OUT_KEY),
                    &JsValue::from_str("1"),
                    &JsValue::UNDEFINED,
                );
                t.opted_out = true;
            }
            "optin" => {
                call_s(&storage, "removeItem", OPT_OUT_KEY);
                t.opted_out = false;
            }
            "pageview" => t.navigate(true),
            _ => {}
        }
        t.send(batch);
    });
}

fn js_string(window: &JsValue, n: f64) -> String {
    call(window, "String", &JsValue::from_f64(n), &JsValue::UNDEFINED, &JsValue::UNDEFINED)
        .as_string()
        .unwrap_or_default()
}

impl Tracker {
    /// Opens an event of `kind` on the current page, with the fields every event carries.
    #[inline(never)]
    fn open(&self, batch: &mut Batch, kind: &str) {
        let navigator = get(&self.window, "navigator");
        let meta = call_s(&self.document, "querySelector", "meta[name='footfall:group']");
        let mut group = text(&meta, "content");
        if group.is_empty() {
            group.push_str(&self.group);
        }
        batch.open(&Head {
            kind,
            id: &payload::uuid(|| (random() * 4_294_967_296.0) as u32),
            site: &self.site,
            url: &self.url,
            pv: &self.pv,
            group: &group,
            ts: date_now() as i64,
            webdriver: truthy(&navigator, "webdriver"),
            dnt: truthy(&navigator, "globalPrivacyControl") || text(&navigator, "doNotTrack") == "1",
        });
    }

    /// Sends the batch unless it is empty or the visitor is not counted: opted out, a development host not
    /// allowed, an excluded page.
    #[inline(never)]
    fn send(&self, batch: Batch) {
        let Some(body) = batch.finish() else { return };
        if self.opted_out || self.local || url::is_excluded(url::path(&self.url), &self.exclude) {
            return;
        }
        let body = JsValue::from_str(&body);
        let endpoint = JsValue::from_str(&self.endpoint);
        // sendBeacon survives the page unloading; fetch with keepalive where beacons are refused.
        let navigator = get(&self.window, "navigator");
        if !call(&navigator, "sendBeacon", &endpoint, &body, &JsValue::UNDEFINED).is_truthy() {
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
        if self.engagement.reported_sections().next().is_some() {
            batch.object("sections");
            for (name, ms) in self.engagement.reported_sections() {
                batch.int(name, ms);
            }
            batch.close();
        }
        batch.close();
    }

    /// A page view for the current address, unless it is the page already counted (`force`: count it anyway,
    /// as after a back/forward-cache restore). The previous page's engagement goes in the same beacon.
    fn navigate(&mut self, force: bool) {
        let cleaned = url::clean(&text(&get(&self.window, "location"), "href"), self.hash);
        if cleaned == self.url && !force {
            return;
        }
        let first = self.url.is_empty();
        let mut batch = Batch::new();
        if !first {
            self.engagement_event(&mut batch);
        }
        self.url = cleaned;
        self.pv = payload::uuid(|| (random() * 4_294_967_296.0) as u32);
        self.engagement = Engagement::new(now(), page_active(&self.document));
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
            call(&self.window, "requestAnimationFrame", &self.handler, &JsValue::UNDEFINED, &JsValue::UNDEFINED);
        }
    }

    /// Runs in an animation frame, never in the scroll handler, so reading the layout forces nothing extra.
    fn measure(&mut self) {
        self.measure_scheduled = false;
        let d = &self.document;
        let height = number(&get(d, "documentElement"), "scrollHeight").max(number(&get(d, "body"), "scrollHeight"));
        self.engagement.observe_scroll(scroll_percent(
            number(&self.window, "scrollY"),
            number(&self.window, "innerHeight"),
            height,
        ));
        // Sections of a freshly rendered page are (re)observed here, after the framework has drawn them.
        let nodes = call_s(d, "querySelectorAll", "[data-section]");
        for i in 0..length(&nodes).min(30) {
            call(&self.sections, "observe", &item(&nodes, i), &JsValue::UNDEFINED, &JsValue::UNDEFINED);
        }
    }

    fn on_click(&mut self, target: &JsValue) {
        let mut batch = Batch::new();
        let tagged = call_s(target, "closest", "[data-footfall]");
        // Forms count when submitted, not when clicked into.
        if tagged.is_truthy() && text(&tagged, "tagName") != "FORM" {
            self.tagged_interaction(&mut batch, &tagged);
        }
        let link = call_s(target, "closest", "a[href]");
        let host = text(&link, "host");
        if !host.is_empty()
            && host != text(&get(&self.window, "location"), "host")
            && text(&link, "protocol").starts_with("http")
        {
            self.open(&mut batch, "interaction");
            batch.str("name", "outbound", 64);
            batch.object("props");
            batch.prop("url", Prop::Text(&(host + &text(&link, "pathname"))));
            batch.close();
            batch.close();
        }
        self.send(batch);
    }

    /// `data-footfall="name"` names the interaction; every `data-footfall-KEY="value"` is a property.
    fn tagged_interaction(&self, batch: &mut Batch, element: &JsValue) {
        self.open(batch, "interaction");
        batch.str("name", &call_s(element, "getAttribute", "data-footfall").as_string().unwrap_or_default(), 64);
        batch.object("props");
        let names = call0(element, "getAttributeNames");
        for i in 0..length(&names) {
            let name = item(&names, i).as_string().unwrap_or_default();
            if let Some(key) = name.strip_prefix("data-footfall-") {
                batch.prop(key, Prop::Text(&call_s(element, "getAttribute", &name).as_string().unwrap_or_default()));
            }
        }
        batch.close();
        batch.close();
    }
}
