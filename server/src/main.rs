//! `pulsardb`: the gateway server. The HTTP API arrives with the server issue;
//! until then the binary only reports its version.

#![forbid(unsafe_code)]

fn main() {
    let arg = std::env::args().nth(1);
    match arg.as_deref() {
        Some("--version") | Some("-V") => println!("pulsardb {}", env!("CARGO_PKG_VERSION")),
        _ => {
            eprintln!(
                "pulsardb {}: the server is not built yet",
                env!("CARGO_PKG_VERSION")
            );
            std::process::exit(2);
        }
    }
}
