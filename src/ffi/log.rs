//! Logging: hamux logs through `tracing` and is silent unless asked.

use once_cell::sync::OnceCell;

/// Installs a stderr logger once if the environment asks for one with `HAMUX_LOG`
/// (a `tracing` filter such as `debug` or `hamux=trace`) and the host has not installed
/// its own global subscriber.
pub(crate) fn init_from_env() {
    static INIT: OnceCell<()> = OnceCell::new();
    INIT.get_or_init(|| {
        if let Ok(filter) = std::env::var("HAMUX_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
                .with_writer(std::io::stderr)
                .try_init();
        }
    });
}
