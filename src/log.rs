//! Logging. hamux logs through `tracing` and is silent unless asked: a host can take the
//! events with [`set_logger`] (the C ABI's `hamux_set_logger`), and `HAMUX_LOG` (a
//! `tracing` filter such as `debug`) prints them to stderr.

use once_cell::sync::OnceCell;
use std::fmt::Write as _;
use std::sync::{Arc, RwLock};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

/// Receives (level, target, message) for each event at or above the logger's level.
pub type LogFn = Arc<dyn Fn(Level, &str, &str) + Send + Sync>;

struct Sink {
    log: LogFn,
    max: Level,
}

static SINK: RwLock<Option<Sink>> = RwLock::new(None);

/// Sends events up to `max` (`Level::DEBUG` includes INFO, WARN, ERROR) to `log`, or
/// stops sending with `None`. May be called at any time, from any thread.
pub fn set_logger(log: Option<LogFn>, max: Level) {
    install();
    *SINK.write().unwrap_or_else(|p| p.into_inner()) = log.map(|log| Sink { log, max });
}

/// Installs hamux's global subscriber once (unless the process already has one).
pub fn install() {
    static INSTALLED: OnceCell<()> = OnceCell::new();
    INSTALLED.get_or_init(|| {
        let stderr = std::env::var("HAMUX_LOG").ok().map(|filter| {
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(tracing_subscriber::EnvFilter::new(filter))
        });
        let _ = tracing_subscriber::registry().with(HostLayer).with(stderr).try_init();
    });
}

/// Forwards events to the host's logger.
struct HostLayer;

struct Message<'a>(&'a mut String);

impl Visit for Message<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if !self.0.is_empty() {
            self.0.push_str(", ");
        }
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, "{}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            if !self.0.is_empty() {
                self.0.push_str(", ");
            }
            self.0.push_str(value);
        } else {
            self.record_debug(field, &value);
        }
    }
}

impl<S: Subscriber> Layer<S> for HostLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let sink = SINK.read().unwrap_or_else(|p| p.into_inner());
        let Some(sink) = sink.as_ref() else { return };
        let meta = event.metadata();
        if *meta.level() > sink.max {
            return;
        }
        let mut text = String::new();
        event.record(&mut Message(&mut text));
        (sink.log)(*meta.level(), meta.target(), &text);
    }
}
