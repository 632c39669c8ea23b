//! A capability's whole surface: its API operations, pages, uploads, nav
//! entry and exports, registered by the capability's own `mount` function.
//!
//! Nothing is routed except through here, so every route has an [`Access`]
//! (the gate in front of it), and the list of routes is known: the
//! generated authorization test walks [`Surface::routes`].

use super::gate::{Access, Front, gate};
use crate::Shared;
use axum::Router;
use axum::http::Method;
use axum::routing::{MethodFilter, MethodRouter};
use redcell_domain::Capability;
use redcell_store::Principal;
use redcell_store::export::ExportList;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};

/// One registered route.
#[derive(Debug, Clone)]
pub struct RouteInfo {
    pub method: Method,
    /// The path as routed, with `{name}` parameters.
    pub path: String,
    pub access: Access,
    pub front: Front,
    /// The body limit of an upload route (multipart), if it is one.
    pub upload_limit: Option<usize>,
}

impl RouteInfo {
    /// Does the call change something (anything but GET and HEAD)?
    pub fn is_write(&self) -> bool {
        !matches!(self.method, Method::GET | Method::HEAD)
    }
}

/// An entry of the header's navigation.
#[derive(Debug, Clone)]
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    /// Shown to callers who pass this gate.
    pub access: Access,
    /// Place in the header, lowest first.
    pub order: u16,
}

/// An upload's limit in bytes, left in the request for the multipart
/// extractor to name in its message.
#[derive(Debug, Clone, Copy)]
pub struct UploadLimit(pub usize);

/// Everything the capabilities mounted.
#[derive(Default)]
pub struct Surface {
    api: OpenApiRouter<Shared>,
    pages: Router<Shared>,
    uploads: Router<Shared>,
    routes: Vec<RouteInfo>,
    nav: Vec<NavItem>,
    exports: Vec<&'static dyn ExportList>,
}

fn gated(mr: MethodRouter<Shared>, access: Access, front: Front) -> MethodRouter<Shared> {
    if access == Access::Public {
        return mr;
    }
    mr.route_layer(axum::middleware::from_fn_with_state((access, front), gate))
}

fn methods_of(item: &utoipa::openapi::path::PathItem) -> Vec<Method> {
    let mut m = Vec::new();
    let ops = [
        (&item.get, Method::GET),
        (&item.post, Method::POST),
        (&item.put, Method::PUT),
        (&item.patch, Method::PATCH),
        (&item.delete, Method::DELETE),
        (&item.head, Method::HEAD),
    ];
    for (op, method) in ops {
        if op.is_some() {
            m.push(method);
        }
    }
    m
}

impl Surface {
    /// An empty surface over the API document's base (title, tags, security).
    pub fn new() -> Surface {
        Surface { api: OpenApiRouter::with_openapi(crate::api::doc()), ..Surface::default() }
    }

    /// API operations written with `#[utoipa::path]`, passed as `routes!(a, b)`
    /// (all behind the same gate).
    pub fn api(&mut self, access: Access, (schemas, paths, mr): UtoipaMethodRouter<Shared>) -> &mut Self {
        for (path, item) in paths.paths.iter() {
            for method in methods_of(item) {
                self.routes.push(RouteInfo {
                    method,
                    path: path.clone(),
                    access,
                    front: Front::Api,
                    upload_limit: None,
                });
            }
        }
        let mr = gated(mr, access, Front::Api);
        self.api = std::mem::take(&mut self.api).routes((schemas, paths, mr));
        self
    }

    /// A page route for one method.
    pub fn page<H, T>(&mut self, method: Method, path: &str, access: Access, handler: H) -> &mut Self
    where
        H: axum::handler::Handler<T, Shared>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).unwrap_or(MethodFilter::GET);
        let mr = gated(axum::routing::on(filter, handler), access, Front::Page);
        self.pages = std::mem::take(&mut self.pages).route(path, mr);
        self.routes.push(RouteInfo { method, path: path.into(), access, front: Front::Page, upload_limit: None });
        self
    }

    pub fn get<H, T>(&mut self, path: &str, access: Access, handler: H) -> &mut Self
    where
        H: axum::handler::Handler<T, Shared>,
        T: 'static,
    {
        self.page(Method::GET, path, access, handler)
    }

    pub fn post<H, T>(&mut self, path: &str, access: Access, handler: H) -> &mut Self
    where
        H: axum::handler::Handler<T, Shared>,
        T: 'static,
    {
        self.page(Method::POST, path, access, handler)
    }

    /// A multipart upload (`POST`) with its own body limit in bytes.
    pub fn upload<H, T>(&mut self, path: &str, access: Access, limit: usize, handler: H) -> &mut Self
    where
        H: axum::handler::Handler<T, Shared>,
        T: 'static,
    {
        // A body announced over the limit is refused (413) before the
        // handler; one that is not announced is cut at the limit while read.
        let mr = axum::routing::post(handler)
            .layer::<_, std::convert::Infallible>(tower_http::limit::RequestBodyLimitLayer::new(limit))
            .layer::<_, std::convert::Infallible>(axum::extract::DefaultBodyLimit::max(limit))
            .layer::<_, std::convert::Infallible>(axum::Extension(UploadLimit(limit)));
        let mr = gated(mr, access, Front::Page);
        self.uploads = std::mem::take(&mut self.uploads).route(path, mr);
        self.routes.push(RouteInfo {
            method: Method::POST,
            path: path.into(),
            access,
            front: Front::Page,
            upload_limit: Some(limit),
        });
        self
    }

    /// A route outside the two fronts (Open311, health, static files): public.
    pub fn public(&mut self, method: Method, path: &str, mr: MethodRouter<Shared>) -> &mut Self {
        self.pages = std::mem::take(&mut self.pages).route(path, mr);
        self.routes.push(RouteInfo {
            method,
            path: path.into(),
            access: Access::Public,
            front: Front::Page,
            upload_limit: None,
        });
        self
    }

    /// An entry of the header's navigation.
    pub fn nav(&mut self, order: u16, href: &'static str, label: &'static str, access: Access) -> &mut Self {
        self.nav.push(NavItem { href, label, access, order });
        self
    }

    /// A list its capability makes downloadable (see `redcell_store::export`):
    /// `GET /api/v1/<code>/export` and `GET /export/<code>` are mounted for it.
    pub fn export(&mut self, list: &'static dyn ExportList) -> &mut Self {
        self.exports.push(list);
        self
    }

    /// Several lists (a capability's `exports()`).
    pub fn exports(&mut self, lists: Vec<&'static dyn ExportList>) -> &mut Self {
        self.exports.extend(lists);
        self
    }

    /// The downloadable lists registered so far.
    pub fn export_lists(&self) -> &[&'static dyn ExportList] {
        &self.exports
    }

    /// Every route registered so far.
    pub fn routes(&self) -> &[RouteInfo] {
        &self.routes
    }

    /// The navigation entries `p` may see, in order.
    pub fn nav_for(&self, p: &Principal) -> Vec<NavItem> {
        let mut v: Vec<NavItem> = self.nav.iter().filter(|n| n.access.admits(p)).cloned().collect();
        v.sort_by_key(|n| n.order);
        v
    }

    /// The routers: API (with its OpenAPI document), pages and uploads.
    pub fn into_parts(self) -> Parts {
        let (api, mut openapi) = self.api.split_for_parts();
        crate::api::document::finish(&mut openapi);
        Parts { api, openapi, pages: self.pages, uploads: self.uploads, routes: self.routes, nav: self.nav }
    }
}

/// A built surface.
pub struct Parts {
    pub api: Router<Shared>,
    pub openapi: utoipa::openapi::OpenApi,
    pub pages: Router<Shared>,
    pub uploads: Router<Shared>,
    pub routes: Vec<RouteInfo>,
    pub nav: Vec<NavItem>,
}

/// Shorthands for the gates of routes.
pub mod gates {
    use super::{Access, Capability};
    pub const READ: Access = Access::Any(&[Capability::ReadRegistry]);
    pub const EDIT: Access = Access::Any(&[Capability::EditRegistry]);
    pub const REVEAL: Access = Access::Any(&[Capability::RevealPersonal]);
    pub const EXPORT: Access = Access::Any(&[Capability::Export, Capability::ReadAudit]);
    pub const USERS: Access = Access::Any(&[Capability::ManageUsers]);
    pub const AUDIT: Access = Access::Root(&[Capability::ReadAudit]);
    /// The tenant's settings: editing at its root.
    pub const SETTINGS: Access = Access::Root(&[Capability::EditRegistry]);
    pub const HANDLE: Access = Access::Any(&[Capability::HandleRequests]);
    pub const RECORD: Access = Access::Any(&[Capability::RecordDuties]);
    pub const SIGNED_IN: Access = Access::SignedIn;
    pub const PUBLIC: Access = Access::Public;
}
