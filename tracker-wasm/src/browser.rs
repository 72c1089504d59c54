//! The browser layer: listeners, DOM reads and `sendBeacon`. Decisions are delegated to the pure modules;
//! this file only moves values between them and the page.
//!
//! Size is the constraint here (the whole tracker must stay under 8 KB gzipped), so the DOM is reached
//! through three generic calls — `Reflect.get`, `Reflect.set`, `Reflect.apply` — rather than one typed
//! binding per method, and a single closure receives every callback: DOM events, animation frames and
//! IntersectionObserver batches.
use std::cell::RefCell;

use js_sys::{Array, Function, Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::engagement::{scroll_percent, Engagement};
use crate::payload::{self, Kind, PropValue, Props};
use crate::url;

const OPT_OUT_KEY: &str = "footfall_optout";

fn global() -> JsValue {
    js_sys::global().into()
}

#[inline(never)]
fn get(object: &JsValue, key: &str) -> JsValue {
    Reflect::get(object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

#[inline(never)]
fn text(object: &JsValue, key: &str) -> String {
    get(object, key).as_string().unwrap_or_default()
}

#[inline(never)]
fn number(object: &JsValue, key: &str) -> f64 {
    get(object, key).as_f64().unwrap_or(0.0)
}

#[inline(never)]
fn set(object: &JsValue, key: &str, value: &JsValue) {
    let _ = Reflect::set(object, &JsValue::from_str(key), value);
}

/// `object.method(...args)`; `undefined` when it is missing or throws.
#[inline(never)]
fn call(object: &JsValue, method: &str, args: &[&JsValue]) -> JsValue {
    let function = get(object, method);
    if !function.is_function() {
        return JsValue::UNDEFINED;
    }
    let list = Array::new();
    for arg in args {
        list.push(arg);
    }
    Reflect::apply(function.unchecked_ref::<Function>(), object, &list).unwrap_or(JsValue::UNDEFINED)
}

#[inline(never)]
fn s(value: &str) -> JsValue {
    JsValue::from_str(value)
}

#[inline(never)]
fn document() -> JsValue {
    get(&global(), "document")
}

#[inline(never)]
fn now() -> f64 {
    call(&get(&global(), "performance"), "now", &[]).as_f64().unwrap_or(0.0)
}

/// Engaged means visible *and* focused: a tab behind another window is not being read.
#[inline(never)]
fn page_active() -> bool {
    let d = document();
    text(&d, "visibilityState") == "visible" && call(&d, "hasFocus", &[]).is_truthy()
}

fn random_bytes() -> [u8; 16] {
    let mut bytes = [0u8; 16];
    for chunk in bytes.chunks_mut(4) {
        let word = (js_sys::Math::random() * 4_294_967_296.0) as u32;
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    bytes
}

fn storage() -> JsValue {
    // Reading localStorage throws where storage is blocked; `get` turns that into undefined.
    get(&global(), "localStorage")
}

struct Config {
    site: String,
    endpoint: String,
    hash: bool,
    allow_local: bool,
    exclude: String,
    group: Option<String>,
}

struct Tracker {
    config: Config,
    /// The one closure every callback arrives through.
    handler: Function,
    /// The current page (cleaned) and its page-view id; empty before the first page view.
    url: String,
    pv: String,
    engagement: Engagement,
    measure_scheduled: bool,
    sections: JsValue,
    opted_out: bool,
    local: bool,
}

thread_local! {
    static TRACKER: RefCell<Option<Tracker>> = const { RefCell::new(None) };
}

fn with<R>(f: impl FnOnce(&mut Tracker) -> R) -> Option<R> {
    TRACKER.with(|t| t.try_borrow_mut().ok()?.as_mut().map(f))
}

/// Called once by the loader with the script tag's settings.
#[wasm_bindgen]
pub fn start(config: JsValue) {
    let w = global();
    let location = get(&w, "location");
    let closure = Closure::<dyn FnMut(JsValue)>::new(dispatch);
    let handler: Function = closure.as_ref().clone().unchecked_into();
    // The handler lives as long as the page.
    closure.forget();
    let observer_class = get(&w, "IntersectionObserver");
    let sections = if observer_class.is_function() {
        Reflect::construct(observer_class.unchecked_ref::<Function>(), &Array::of1(&handler)).unwrap_or(JsValue::UNDEFINED)
    } else {
        JsValue::UNDEFINED
    };
    let tracker = Tracker {
        config: Config {
            site: text(&config, "site"),
            endpoint: text(&config, "api"),
            hash: get(&config, "hash").is_truthy(),
            allow_local: get(&config, "local").is_truthy(),
            exclude: text(&config, "exclude"),
            group: get(&config, "group").as_string().filter(|g| !g.is_empty()),
        },
        handler: handler.clone(),
        url: String::new(),
        pv: String::new(),
        engagement: Engagement::new(now(), page_active()),
        measure_scheduled: false,
        sections,
        opted_out: call(&storage(), "getItem", &[&s(OPT_OUT_KEY)]).as_string().as_deref() == Some("1"),
        local: url::is_local(&text(&location, "hostname"), &text(&location, "protocol")),
    };
    TRACKER.with(|t| *t.borrow_mut() = Some(tracker));
    let d = document();
    let listen = |target: &JsValue, name: &str, capture: bool| {
        let options = Object::new();
        set(&options, "passive", &JsValue::TRUE);
        set(&options, "capture", &JsValue::from_bool(capture));
        call(target, "addEventListener", &[&s(name), &handler, &options]);
    };
    listen(&d, "visibilitychange", false);
    listen(&d, "click", true);
    listen(&d, "submit", true);
    for name in ["focus", "blur", "pagehide", "pageshow", "popstate", "hashchange", "footfall:nav", "scroll"] {
        listen(&w, name, false);
    }
    let navigation = get(&w, "navigation");
    if navigation.is_object() {
        listen(&navigation, "navigatesuccess", false);
    }
    with(|t| t.navigate(true));
}

/// Every callback: an animation frame (a number), IntersectionObserver entries (an array) or a DOM event.
fn dispatch(arg: JsValue) {
    if arg.as_f64().is_some() {
        with(Tracker::measure);
        return;
    }
    if Array::is_array(&arg) {
        let time = now();
        with(|t| {
            for entry in arg.unchecked_ref::<Array>().iter() {
                let name = call(&get(&entry, "target"), "getAttribute", &[&s("data-section")]);
                if let Some(name) = name.as_string() {
                    t.engagement.section_in_view(time, payload::cut(&name, 64), get(&entry, "isIntersecting").is_truthy());
                }
            }
        });
        return;
    }
    let kind = text(&arg, "type");
    with(|t| match kind.as_str() {
        "visibilitychange" | "focus" | "blur" | "pagehide" => {
            let closing = kind == "pagehide";
            let active = !closing && page_active();
            t.engagement.set_active(now(), active);
            if !active {
                t.flush();
            }
        }
        // A page restored from the back/forward cache is a new page view of the same URL.
        "pageshow" if get(&arg, "persisted").is_truthy() => t.navigate(true),
        "popstate" | "hashchange" | "footfall:nav" | "navigatesuccess" => t.navigate(false),
        "scroll" => t.schedule_measure(),
        "click" => t.on_click(&get(&arg, "target")),
        "submit" => t.on_submit(&get(&arg, "target")),
        _ => {}
    });
}

/// `footfall(...)` after the module has loaded (the loader replays what was queued before).
#[wasm_bindgen]
pub fn command(args: Array) {
    let verb = args.get(0).as_string().unwrap_or_default();
    let argument = |i: u32| args.get(i);
    with(|t| match verb.as_str() {
        "track" => {
            let name = argument(1).as_string().unwrap_or_default();
            let event = t.interaction(&name, &props_from_object(&argument(2)));
            t.send(vec![event]);
        }
        "identify" => {
            let user = argument(1);
            let user = user.as_string().or_else(|| user.as_f64().map(js_number)).unwrap_or_default();
            if !user.is_empty() {
                let event = t.event(Kind::Identify { user: &user, remember: get(&argument(2), "remember").is_truthy() });
                t.send(vec![event]);
            }
        }
        "optout" => {
            call(&storage(), "setItem", &[&s(OPT_OUT_KEY), &s("1")]);
            t.opted_out = true;
        }
        "optin" => {
            call(&storage(), "removeItem", &[&s(OPT_OUT_KEY)]);
            t.opted_out = false;
        }
        "pageview" => t.navigate(true),
        _ => {}
    });
}

/// JavaScript's own `String(n)`: the shortest text that reads back as the same number, and valid JSON for
/// finite numbers — without Rust's float formatting code in the module.
fn js_number(n: f64) -> String {
    call(&global(), "String", &[&JsValue::from_f64(n)]).as_string().unwrap_or_default()
}

fn props_from_object(value: &JsValue) -> String {
    let mut props = Props::new();
    if value.is_object() {
        for key in Object::keys(value.unchecked_ref::<Object>()).iter() {
            let name = key.as_string().unwrap_or_default();
            let v = Reflect::get(value, &key).unwrap_or(JsValue::UNDEFINED);
            if let Some(text) = v.as_string() {
                props.add(&name, PropValue::Text(&text));
            } else if let Some(b) = v.as_bool() {
                props.add(&name, PropValue::Bool(b));
            } else if let Some(n) = v.as_f64().filter(|n| n.is_finite()) {
                props.add(&name, PropValue::Number(&js_number(n)));
            }
        }
    }
    props.finish()
}

impl Tracker {
    /// Nothing is sent for opted-out visitors, development hosts (unless allowed) and excluded pages.
    fn blocked(&self) -> bool {
        self.opted_out || (self.local && !self.config.allow_local) || url::is_excluded(url::path(&self.url), &self.config.exclude)
    }

    #[inline(never)]
    fn event(&self, kind: Kind<'_>) -> String {
        let navigator = get(&global(), "navigator");
        let dnt = get(&navigator, "globalPrivacyControl").is_truthy() || text(&navigator, "doNotTrack") == "1";
        let meta = call(&document(), "querySelector", &[&s("meta[name='footfall:group']")]);
        let group = text(&meta, "content");
        let group = if group.is_empty() { self.config.group.clone() } else { Some(group) };
        payload::Event {
            id: &payload::uuid(random_bytes()),
            site: &self.config.site,
            url: &self.url,
            pv: &self.pv,
            group: group.as_deref().map(|g| payload::cut(g, 128)),
            ts: js_sys::Date::now() as i64,
            webdriver: get(&navigator, "webdriver").is_truthy(),
            dnt,
            kind,
        }
        .encode()
    }

    fn interaction(&self, name: &str, props: &str) -> String {
        self.event(Kind::Interaction { name, props })
    }

    #[inline(never)]
    fn send(&self, events: Vec<String>) {
        if events.is_empty() || self.blocked() {
            return;
        }
        let body = s(&payload::batch(&events));
        let endpoint = s(&self.config.endpoint);
        let w = global();
        // sendBeacon survives the page unloading; fetch with keepalive where beacons are refused.
        if !call(&get(&w, "navigator"), "sendBeacon", &[&endpoint, &body]).is_truthy() {
            let init = Object::new();
            set(&init, "method", &s("POST"));
            set(&init, "body", &body);
            set(&init, "keepalive", &JsValue::TRUE);
            call(&w, "fetch", &[&endpoint, &init]);
        }
    }

    fn engagement_event(&mut self) -> Option<String> {
        let report = self.engagement.take_report(now())?;
        Some(self.event(Kind::Engagement { engaged_ms: report.engaged_ms, scroll: report.scroll, sections: &report.sections }))
    }

    /// Reports the current page's engagement (page hidden or closing).
    fn flush(&mut self) {
        if let Some(event) = self.engagement_event() {
            self.send(vec![event]);
        }
    }

    /// A page view for the current address, unless it is the page already counted (`force`: count it anyway,
    /// as after a back/forward-cache restore). The previous page's engagement goes in the same beacon.
    fn navigate(&mut self, force: bool) {
        let w = global();
        let cleaned = url::clean(&text(&get(&w, "location"), "href"), self.config.hash);
        if cleaned == self.url && !force {
            return;
        }
        let first = self.url.is_empty();
        let mut events: Vec<String> = self.engagement_event().into_iter().collect();
        self.url = cleaned;
        self.pv = payload::uuid(random_bytes());
        self.engagement = Engagement::new(now(), page_active());
        let d = document();
        let referrer = if first { text(&d, "referrer") } else { String::new() };
        let pageview = Kind::Pageview { referrer: Some(&referrer), title: &text(&d, "title"), screen: number(&w, "innerWidth") as i64 };
        events.push(self.event(pageview));
        self.send(events);
        call(&self.sections, "disconnect", &[]);
        self.schedule_measure();
    }

    fn schedule_measure(&mut self) {
        if !self.measure_scheduled {
            self.measure_scheduled = true;
            call(&global(), "requestAnimationFrame", &[&self.handler]);
        }
    }

    /// Runs in an animation frame, never in the scroll handler, so reading the layout forces nothing extra.
    fn measure(&mut self) {
        self.measure_scheduled = false;
        let w = global();
        let d = document();
        let height = number(&get(&d, "documentElement"), "scrollHeight").max(number(&get(&d, "body"), "scrollHeight"));
        self.engagement.observe_scroll(scroll_percent(number(&w, "scrollY"), number(&w, "innerHeight"), height));
        // Sections of a freshly rendered page are (re)observed here, after the framework has drawn them.
        if self.sections.is_object() {
            let nodes = call(&d, "querySelectorAll", &[&s("[data-section]")]);
            for i in 0..(number(&nodes, "length") as u32).min(30) {
                call(&self.sections, "observe", &[&call(&nodes, "item", &[&JsValue::from(i)])]);
            }
        }
    }

    fn on_click(&mut self, target: &JsValue) {
        let mut events = Vec::new();
        let tagged = call(target, "closest", &[&s("[data-footfall]")]);
        // Forms count when submitted, not when clicked into.
        if tagged.is_object() && text(&tagged, "tagName") != "FORM" {
            events.push(self.tagged_interaction(&tagged));
        }
        let link = call(target, "closest", &[&s("a[href]")]);
        if link.is_object() {
            let here = text(&get(&global(), "location"), "host");
            let host = text(&link, "host");
            if host != here && text(&link, "protocol").starts_with("http") {
                let mut props = Props::new();
                props.add("url", PropValue::Text(&(host + &text(&link, "pathname"))));
                events.push(self.interaction("outbound", &props.finish()));
            }
        }
        self.send(events);
    }

    fn on_submit(&mut self, form: &JsValue) {
        if call(form, "hasAttribute", &[&s("data-footfall")]).is_truthy() {
            let event = self.tagged_interaction(form);
            self.send(vec![event]);
        }
    }

    /// `data-footfall="name"` names the interaction; every `data-footfall-KEY="value"` is a property.
    fn tagged_interaction(&self, element: &JsValue) -> String {
        let attribute = |name: &str| call(element, "getAttribute", &[&s(name)]).as_string().unwrap_or_default();
        let mut props = Props::new();
        let names = call(element, "getAttributeNames", &[]);
        if Array::is_array(&names) {
            for name in names.unchecked_ref::<Array>().iter() {
                let name = name.as_string().unwrap_or_default();
                if let Some(key) = name.strip_prefix("data-footfall-") {
                    props.add(key, PropValue::Text(&attribute(&name)));
                }
            }
        }
        self.interaction(&attribute("data-footfall"), &props.finish())
    }
}
