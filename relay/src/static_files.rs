//! Serving the built web app: MIME types (actix-files), cache policy,
//! index.html fallback for client-side routes.

use std::path::{Path, PathBuf};

use actix_files::{Files, NamedFile};
use actix_web::dev::{fn_service, ServiceRequest, ServiceResponse};
use actix_web::{web, HttpResponse};

/// Cache-Control for hashed assets: they never change under their name.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Cache-Control for everything else served from the static dir.
pub const REVALIDATE: &str = "no-cache";

/// Paths the app never falls back to index.html for.
pub fn is_api_path(path: &str) -> bool {
    ["/ws", "/metrics", "/healthz", "/readyz", "/api"]
        .iter()
        .any(|p| {
            path == *p
                || path
                    .strip_prefix(p)
                    .is_some_and(|rest| rest.starts_with('/'))
        })
}

/// True for Trunk-style hashed asset names: `name-<hex hash>.{js,wasm,css}`.
pub fn is_hashed_asset(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    let Some((stem, ext)) = file.rsplit_once('.') else {
        return false;
    };
    if !matches!(ext, "js" | "wasm" | "css" | "mjs") {
        return false;
    }
    let Some((_, hash)) = stem.rsplit_once('-') else {
        return false;
    };
    hash.len() >= 8 && hash.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The Cache-Control value for a static path.
pub fn cache_control(path: &str) -> &'static str {
    if is_hashed_asset(path) {
        IMMUTABLE
    } else {
        REVALIDATE
    }
}

/// Whether an unknown path gets index.html (client-side routes): not an API
/// path, and no file extension (a missing asset stays a 404).
pub fn falls_back_to_index(path: &str) -> bool {
    let last = path.rsplit('/').next().unwrap_or("");
    !is_api_path(path) && !last.contains('.')
}

/// Mounts the static app at `/` (register it after every other route).
pub fn mount(cfg: &mut web::ServiceConfig, dir: &Path) {
    let index: PathBuf = dir.join("index.html");
    let fallback = fn_service(move |req: ServiceRequest| {
        let index = index.clone();
        async move {
            let (req, _) = req.into_parts();
            if falls_back_to_index(req.path()) {
                if let Ok(file) = NamedFile::open(&index) {
                    let res = file.into_response(&req);
                    return Ok(ServiceResponse::new(req, res));
                }
            }
            Ok(ServiceResponse::new(req, HttpResponse::NotFound().finish()))
        }
    });
    if dir.is_dir() {
        cfg.service(
            Files::new("/", dir)
                .index_file("index.html")
                .default_handler(fallback),
        );
    } else {
        tracing::warn!(dir = %dir.display(), "static dir does not exist; the web app is not served");
        cfg.default_service(fallback);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_paths() {
        assert!(is_hashed_asset("/web-5f3a9c0d1e2b4a67.js"));
        assert!(!is_hashed_asset("/web-5f3a9c0d1e2b4a67_bg.wasm"));
        assert!(is_hashed_asset("/assets/web_bg-5f3a9c0d1e2b4a67.wasm"));
        assert!(!is_hashed_asset("/index.html"));
        assert!(!is_hashed_asset("/app.js"));
        assert!(!is_hashed_asset("/my-app.js"));
        assert_eq!(cache_control("/index.html"), REVALIDATE);
        assert!(is_api_path("/ws"));
        assert!(is_api_path("/ws/probe"));
        assert!(!is_api_path("/wsx"));
        assert!(falls_back_to_index("/map/l4"));
        assert!(!falls_back_to_index("/missing-0123456789abcdef.js"));
        assert!(!falls_back_to_index("/metrics"));
    }
}
