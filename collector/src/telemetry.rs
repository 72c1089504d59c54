//! Logging. Lines never carry a client address: there is no access log, and no code path logs an IP.
use tracing_subscriber::EnvFilter;

/// actix-http logs every malformed request (`/share/<script>` with a raw `<` is not a URI) as an ERROR "stream
/// error" line: anyone could write one line to the operator's log per request, about nothing the operator can
/// act on. Such requests are answered 400 and closed all the same; `FOOTFALL_LOG` can turn the lines back on.
const DEFAULT_FILTER: &str = "info,sqlx=warn,sea_orm=warn,actix_http::h1::dispatcher=off";

pub fn init() {
    let filter = EnvFilter::try_from_env("FOOTFALL_LOG").unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    // A second init (tests spawn many apps in one process) is harmless.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi).with_writer(std::io::stderr).try_init();
}
