//! Error bodies in each service's own format, and the crate's error type.
//!
//! Nova and Cinder answer `{"<kind>": {"code": N, "message": "..."}}` (kind
//! `badRequest`, `itemNotFound`, `conflictingRequest`, `overLimit`, ...);
//! Glance answers an HTML-ish text body, Keystone `{"error": {code, title, message}}`,
//! Swift plain text, Neutron `{"NeutronError": {type, message, detail}}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Errors of the in-process API (startup, admin helpers).
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("cannot bind {what} on {addr}: {source}")]
    Bind {
        what: String,
        addr: String,
        source: std::io::Error,
    },
    #[error("invalid topology: {0}")]
    Topology(String),
    #[error("io error: {0}")]
    Io(#[from] std::io::Error),
    #[error("unknown site {0:?} (expected site-a or site-b)")]
    UnknownSite(String),
    #[error("admin request failed: {0}")]
    Admin(String),
}

/// Which service's error format to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    Nova,
    Cinder,
    Glance,
    Keystone,
    Swift,
    Neutron,
    Designate,
}

fn kind_for(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "badRequest",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "itemNotFound",
        405 => "badMethod",
        406 => "notAcceptable",
        409 => "conflictingRequest",
        413 | 429 => "overLimit",
        501 => "notImplemented",
        503 => "serviceUnavailable",
        _ => "computeFault",
    }
}

fn title_for(status: StatusCode) -> &'static str {
    status.canonical_reason().unwrap_or("Error")
}

/// An error response in the format of `flavor`.
pub fn error(flavor: Flavor, status: StatusCode, message: impl Into<String>) -> Response {
    let message = message.into();
    match flavor {
        Flavor::Nova | Flavor::Cinder => {
            let mut kind = kind_for(status);
            if flavor == Flavor::Cinder && kind == "computeFault" {
                kind = "internalServerError";
            }
            let body = json!({ kind: { "code": status.as_u16(), "message": message } });
            (status, axum::Json(body)).into_response()
        }
        Flavor::Neutron => {
            let kind = match status.as_u16() {
                400 => "HTTPBadRequest",
                401 => "HTTPUnauthorized",
                403 => "HTTPForbidden",
                404 => "HTTPNotFound",
                405 => "HTTPMethodNotAllowed",
                409 => "HTTPConflict",
                429 => "HTTPTooManyRequests",
                503 => "HTTPServiceUnavailable",
                _ => "HTTPInternalServerError",
            };
            neutron(status, kind, message)
        }
        Flavor::Designate => crate::designate::error_body(status, &message),
        Flavor::Keystone => {
            let body = json!({"error": {"code": status.as_u16(), "title": title_for(status), "message": message}});
            (status, axum::Json(body)).into_response()
        }
        Flavor::Glance => {
            let text = format!(
                "<html>\n <head>\n  <title>{code} {title}</title>\n </head>\n <body>\n  <h1>{code} {title}</h1>\n  {message}<br /><br />\n\n\n\n </body>\n</html>",
                code = status.as_u16(),
                title = title_for(status)
            );
            let mut r = (status, text).into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=UTF-8"),
            );
            r
        }
        Flavor::Swift => {
            let text = format!(
                "<html><h1>{}</h1><p>{}</p></html>",
                title_for(status),
                message
            );
            let mut r = (status, text).into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=UTF-8"),
            );
            r
        }
    }
}

/// Neutron's error body: the exception's class name as `type`.
pub fn neutron(status: StatusCode, kind: &str, message: impl Into<String>) -> Response {
    let body = json!({"NeutronError": {"type": kind, "message": message.into(), "detail": ""}});
    (status, axum::Json(body)).into_response()
}

pub fn not_found(flavor: Flavor, message: impl Into<String>) -> Response {
    error(flavor, StatusCode::NOT_FOUND, message)
}
pub fn bad_request(flavor: Flavor, message: impl Into<String>) -> Response {
    error(flavor, StatusCode::BAD_REQUEST, message)
}
pub fn conflict(flavor: Flavor, message: impl Into<String>) -> Response {
    error(flavor, StatusCode::CONFLICT, message)
}

/// The result type of request handlers: both arms are complete HTTP answers.
pub type Reply = Result<Response, Response>;
