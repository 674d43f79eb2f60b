//! Authentication: tokens from the configuration, each with a scope.
//!
//! Off by default (`auth.enabled`). When on, every request but `/ping` and
//! `/health` (and `/metrics` unless `auth.metrics` is `"token"`) must carry a
//! token, in any of the forms the InfluxDB clients use:
//!
//! - `Authorization: Token X` (InfluxDB 2.x clients, Telegraf's v2 output),
//! - `Authorization: Bearer X`,
//! - `Authorization: Basic base64(user:X)` (1.x clients; the password is the
//!   token, the user name is ignored),
//! - query parameters `u=...&p=X` (1.x clients, Grafana's InfluxQL source).
//!
//! Tokens are compared in constant time, against every configured token
//! (which one matched does not show in the timing either). A missing or
//! unknown token gets 401 with `WWW-Authenticate`; a read token writing, 403.

use super::{Reply, Req};

/// What a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Queries (SELECT, SHOW).
    Read,
    /// Writes and write statements (CREATE, DROP, DELETE), no queries.
    Write,
    /// Both.
    ReadWrite,
}

impl Scope {
    /// Parses a config value.
    pub fn parse(s: &str) -> Option<Scope> {
        match s {
            "read" => Some(Scope::Read),
            "write" => Some(Scope::Write),
            "read-write" | "readwrite" | "all" => Some(Scope::ReadWrite),
            _ => None,
        }
    }

    /// Whether it allows reading.
    pub fn can_read(self) -> bool {
        matches!(self, Scope::Read | Scope::ReadWrite)
    }

    /// Whether it allows writing.
    pub fn can_write(self) -> bool {
        matches!(self, Scope::Write | Scope::ReadWrite)
    }
}

/// One configured token.
#[derive(Clone, Debug)]
pub struct Token {
    /// A name for logs (never the token).
    pub name: String,
    /// The secret.
    pub secret: String,
    /// What it may do.
    pub scope: Scope,
}

/// The authentication settings.
#[derive(Clone, Debug, Default)]
pub struct AuthConfig {
    /// Whether requests must carry a token.
    pub enabled: bool,
    /// The tokens.
    pub tokens: Vec<Token>,
    /// Whether `/metrics` needs a (read) token too.
    pub metrics_need_token: bool,
}

/// What a request may do once authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Authentication is off, or the path is open.
    Open,
    /// A token with this scope.
    Token(Scope),
}

impl Access {
    /// Whether write statements and writes are allowed.
    pub fn can_write(self) -> bool {
        match self {
            Access::Open => true,
            Access::Token(s) => s.can_write(),
        }
    }

    /// Whether queries are allowed.
    pub fn can_read(self) -> bool {
        match self {
            Access::Open => true,
            Access::Token(s) => s.can_read(),
        }
    }
}

/// Equal in constant time for a given length of `b` (the secret).
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = (a.len() ^ b.len()) as u8 | u8::from(a.len() != b.len());
    for (i, &y) in b.iter().enumerate() {
        let x = a.get(i).copied().unwrap_or(0);
        diff |= x ^ y;
    }
    diff == 0
}

fn b64_value(c: u8) -> Option<u32> {
    match c {
        b'A'..=b'Z' => Some(u32::from(c - b'A')),
        b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
        b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
        b'+' | b'-' => Some(62),
        b'/' | b'_' => Some(63),
        _ => None,
    }
}

/// Standard base64 (padding optional); `None` if malformed.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim().trim_end_matches('=');
    if s.len() > 8192 {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        acc = (acc << 6) | b64_value(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// The token a request carries, if any.
fn presented(req: &Req<'_>) -> Option<String> {
    if let Some(h) = req.header("Authorization") {
        let h = h.trim();
        let (scheme, rest) = h.split_once(' ').unwrap_or((h, ""));
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("token") || scheme.eq_ignore_ascii_case("bearer") {
            return Some(rest.to_string());
        }
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = base64_decode(rest)?;
            let text = String::from_utf8(decoded).ok()?;
            return text.split_once(':').map(|(_, p)| p.to_string());
        }
        return None;
    }
    req.param("p").map(str::to_string)
}

impl AuthConfig {
    /// Checks a request for `path`; `Err` is the reply to send.
    pub fn check(&self, req: &Req<'_>) -> Result<Access, Reply> {
        if !self.enabled {
            return Ok(Access::Open);
        }
        match req.path.as_str() {
            "/ping" | "/health" => return Ok(Access::Open),
            "/metrics" if !self.metrics_need_token => return Ok(Access::Open),
            _ => {}
        }
        let unauthorized = |why: &str| {
            Reply::error(401, format!("authorization failed: {why}"))
                .with_header("WWW-Authenticate", "Basic realm=\"pulsardb\", Token")
        };
        let Some(token) = presented(req) else {
            return Err(unauthorized(
                "no token (send Authorization: Token <token>, Basic auth, or u/p parameters)",
            ));
        };
        let mut found: Option<&Token> = None;
        for t in &self.tokens {
            if ct_eq(token.as_bytes(), t.secret.as_bytes()) {
                found = Some(t);
            }
        }
        let Some(t) = found else {
            return Err(unauthorized("unknown token"));
        };
        crate::debug!("{} {} by token {:?}", req.method, req.path, t.name);
        let scope = t.scope;
        let needs_write = matches!(req.path.as_str(), "/write" | "/api/v2/write" | "/flush");
        if needs_write && !scope.can_write() {
            return Err(Reply::error(
                403,
                "this token may not write (scope \"read\")",
            ));
        }
        if matches!(req.path.as_str(), "/metrics") && !scope.can_read() {
            return Err(Reply::error(
                403,
                "this token may not read (scope \"write\")",
            ));
        }
        Ok(Access::Token(scope))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_equality() {
        assert!(ct_eq(b"secret-token", b"secret-token"));
        assert!(!ct_eq(b"secret-tokeN", b"secret-token"));
        assert!(!ct_eq(b"secret", b"secret-token"));
        assert!(!ct_eq(b"secret-token-longer", b"secret-token"));
        assert!(!ct_eq(b"", b"x"));
    }

    #[test]
    fn base64_decodes_basic_credentials() {
        assert_eq!(base64_decode("dXNlcjpwYXNz").unwrap(), b"user:pass");
        assert_eq!(base64_decode("dXNlcjpwYXNzMQ==").unwrap(), b"user:pass1");
        assert_eq!(base64_decode("YQ").unwrap(), b"a");
        assert!(base64_decode("not base64!").is_none());
    }
}
