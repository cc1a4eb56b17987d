//! The route templates a server matched, and its span names `{method} {route}`, kept once per
//! route for the life of the process instead of copied into new strings for every request.
//!
//! A span's name is a `Cow<'static, str>` (OpenTelemetry's `SpanData`), so a name shared by
//! every request on a route has to be `'static`: the first request on a route leaks its
//! template and, per method, its span name. Templates come from the server's code (axum's
//! `MatchedPath`, never the raw path), so they are few; past [`MAX_ROUTES`] a route is copied
//! per request as before, so that a program building routes without end does not grow memory
//! without end.

use crate::dispatch::http_server_labels::{ActiveKey, KNOWN_METHODS};
use crate::names::http_server as names;
use opentelemetry::StringValue;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, OnceLock, RwLock};

/// How many route templates are kept.
pub(crate) const MAX_ROUTES: usize = 1024;

/// A route's template and its span names, one per method.
struct Route {
    template: &'static str,
    names: [OnceLock<&'static str>; KNOWN_METHODS.len()],
}

type Routes = HashMap<&'static str, &'static Route, fnv::FnvBuildHasher>;

static ROUTES: LazyLock<RwLock<Routes>> = LazyLock::new(RwLock::default);

/// `http.route` and the span name of a request with `method` on `route`.
pub(crate) fn route_and_name(method: ActiveKey, route: &str) -> (StringValue, Cow<'static, str>) {
    match kept(route) {
        Some(kept) => {
            let name = kept.names[method.method_index()]
                .get_or_init(|| Box::leak(span_name(method.method(), route).into_boxed_str()));
            (StringValue::from(kept.template), Cow::Borrowed(*name))
        }
        None => (
            StringValue::from(Arc::<str>::from(route)),
            Cow::Owned(span_name(method.method(), route)),
        ),
    }
}

/// The kept route, kept now if there is room.
fn kept(route: &str) -> Option<&'static Route> {
    if let Ok(routes) = ROUTES.read() {
        if let Some(kept) = routes.get(route) {
            return Some(kept);
        }
    }
    let mut routes = ROUTES.write().ok()?;
    if let Some(kept) = routes.get(route) {
        return Some(kept);
    }
    if routes.len() >= MAX_ROUTES {
        return None;
    }
    let template: &'static str = Box::leak(Box::from(route));
    let kept: &'static Route = Box::leak(Box::new(Route {
        template,
        names: [const { OnceLock::new() }; KNOWN_METHODS.len()],
    }));
    routes.insert(template, kept);
    Some(kept)
}

/// `{method} {route}`: what `format!` would give, without its formatting machinery; `{method}`
/// is `HTTP` for `_OTHER` (HTTP spans, "Name": "In other cases (when `{http.request.method}` is
/// set to `_OTHER`), `{method}` MUST be `HTTP`").
fn span_name(method: &'static str, route: &str) -> String {
    let method = span_method(method);
    let mut name = String::with_capacity(method.len() + 1 + route.len());
    name.push_str(method);
    name.push(' ');
    name.push_str(route);
    name
}

/// A span name's `{method}`: the method, or `HTTP` for `_OTHER`.
pub(crate) fn span_method(method: &'static str) -> &'static str {
    if method == names::METHOD_OTHER {
        names::SPAN_NAME_OTHER_METHOD
    } else {
        method
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One test: the table is process-wide, and the second half fills it.
    #[test]
    fn a_route_is_kept_once_and_named_per_method_up_to_the_bound() {
        let get = ActiveKey::new("GET", false);
        let post = ActiveKey::new("POST", true);
        let (route, name) = route_and_name(get, "/routes-test/{id}");
        assert_eq!(
            (route.as_str(), name.as_ref()),
            ("/routes-test/{id}", "GET /routes-test/{id}")
        );
        let (again, name_again) = route_and_name(get, "/routes-test/{id}");
        // The same strings, not copies.
        assert!(std::ptr::eq(route.as_str(), again.as_str()));
        assert!(matches!(name_again, Cow::Borrowed(_)));
        assert!(std::ptr::eq(name.as_ref(), name_again.as_ref()));
        let (_, posted) = route_and_name(post, "/routes-test/{id}");
        assert_eq!(posted, "POST /routes-test/{id}");
        let (_, other) = route_and_name(ActiveKey::new("_OTHER", false), "/routes-test/{id}");
        assert_eq!(other, "HTTP /routes-test/{id}");

        for n in 0..MAX_ROUTES {
            let _ = route_and_name(get, &format!("/routes-fill/{n}"));
        }
        let (route, name) = route_and_name(get, "/routes-past-the-bound");
        assert_eq!(
            (route.as_str(), name.as_ref()),
            ("/routes-past-the-bound", "GET /routes-past-the-bound")
        );
        assert!(matches!(name, Cow::Owned(_)), "copied, not kept");
        // Routes kept before stay kept.
        let (_, name) = route_and_name(get, "/routes-test/{id}");
        assert!(matches!(name, Cow::Borrowed(_)));
    }
}
