//! What every operation of the API document states, added in one place
//! after every capability has mounted its operations (see
//! [`crate::kit::Surface::into_parts`]), so that no annotation has to repeat
//! it and no new operation can forget it:
//!
//! - every error status the server answers, with the [`crate::error::ErrorBody`]
//!   schema, as a reference to one shared response per status
//!   (`#/components/responses/NotFound`, …); a public operation does not
//!   list 401 and 403;
//! - a description on every response (OpenAPI requires one);
//! - a query parameter is never `null` (it is absent or has a value);
//! - a PATCH whose body is also a create (POST) body requires nothing (only
//!   the fields sent change): it points at a copy of that schema without
//!   `required`.

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{Schema, SchemaType, Type};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};
use utoipa::{PartialSchema, ToSchema};

use crate::error::ErrorBody;

/// The error statuses of every operation: status, name of the shared
/// response in the components, what it means here.
pub const ERRORS: &[(&str, &str, &str)] = &[
    ("400", "BadRequest", "Bad request: the address is malformed (e.g. an id in the path that is not an integer)"),
    ("401", "Unauthorized", "Not signed in: no bearer token, or it is not valid or has expired"),
    (
        "403",
        "Forbidden",
        "Forbidden: the caller lacks the capability, must change their password first, or named something outside their scope",
    ),
    ("404", "NotFound", "Not found, or outside the caller's scope"),
    (
        "409",
        "Conflict",
        "Conflict: the change clashes with stored data (e.g. the record is still referenced); nothing was changed",
    ),
    ("413", "PayloadTooLarge", "The request body is too large"),
    (
        "422",
        "UnprocessableEntity",
        "Invalid input: the query or body does not fit; `error.fields` names every bad field",
    ),
    (
        "429",
        "TooManyRequests",
        "Too many attempts (rate limited, or the account is locked); `Retry-After` says when to try again",
    ),
];

/// Statuses a public operation (no security requirement) does not answer.
const SIGNED_IN_ONLY: &[&str] = &["401", "403"];

fn success_description(status: &str) -> &'static str {
    match status {
        "200" => "OK",
        "201" => "Created",
        "204" => "No content",
        _ => "Answer",
    }
}

/// The operations of the document with their method, in document order.
fn operations(doc: &mut OpenApi) -> Vec<(String, &'static str, &mut Operation)> {
    let mut v = Vec::new();
    for (path, item) in doc.paths.paths.iter_mut() {
        let ops = [
            ("get", &mut item.get),
            ("put", &mut item.put),
            ("post", &mut item.post),
            ("delete", &mut item.delete),
            ("options", &mut item.options),
            ("head", &mut item.head),
            ("patch", &mut item.patch),
            ("trace", &mut item.trace),
        ];
        for (method, op) in ops {
            if let Some(op) = op.as_mut() {
                v.push((path.clone(), method, op));
            }
        }
    }
    v
}

/// `[T, null]` → `T`; `oneOf: [null, X]` → `X`.
fn not_null(schema: &mut RefOr<Schema>) {
    let replacement = match schema {
        RefOr::T(Schema::Object(o)) => {
            if let SchemaType::Array(types) = &o.schema_type {
                let kept: Vec<Type> = types.iter().filter(|t| **t != Type::Null).cloned().collect();
                o.schema_type = match kept.as_slice() {
                    [one] => SchemaType::Type(one.clone()),
                    _ => SchemaType::Array(kept),
                };
            }
            None
        }
        RefOr::T(Schema::OneOf(one)) => {
            let is_null = |s: &RefOr<Schema>| matches!(s, RefOr::T(Schema::Object(o)) if o.schema_type == SchemaType::Type(Type::Null));
            let rest: Vec<&RefOr<Schema>> = one.items.iter().filter(|s| !is_null(s)).collect();
            match rest.as_slice() {
                [only] if rest.len() < one.items.len() => Some((*only).clone()),
                _ => None,
            }
        }
        _ => None,
    };
    if let Some(r) = replacement {
        *schema = r;
    }
}

/// The component schemas an operation's body refers to.
fn body_schemas(op: &Operation) -> Vec<String> {
    let Some(RefOr::T(body)) = op.request_body.as_ref() else { return vec![] };
    body.content
        .values()
        .filter_map(|c| match c {
            RefOr::T(c) => match &c.schema {
                Some(RefOr::Ref(r)) => r.ref_location.strip_prefix("#/components/schemas/").map(str::to_string),
                _ => None,
            },
            RefOr::Ref(_) => None,
        })
        .collect()
}

/// Apply the rules of the module documentation to a built document.
pub fn finish(doc: &mut OpenApi) {
    let mut create_bodies: Vec<String> = Vec::new();
    for (_path, method, op) in operations(doc) {
        if method == "post" {
            create_bodies.extend(body_schemas(op));
        }
    }
    let mut patch_bodies: Vec<String> = Vec::new();
    for (_path, method, op) in operations(doc) {
        let public = op.security.as_ref().is_none_or(|s| s.is_empty());
        let responses = &mut op.responses.responses;
        for (status, name, _) in ERRORS {
            if public && SIGNED_IN_ONLY.contains(status) {
                continue;
            }
            // An annotation's own description of an error stays; a bare
            // `(status = 404, body = ErrorBody)` becomes the shared response.
            let bare = match responses.get(*status) {
                None => true,
                Some(RefOr::T(r)) => r.description.is_empty(),
                Some(RefOr::Ref(_)) => false,
            };
            if bare {
                responses.insert(status.to_string(), RefOr::Ref(Ref::from_response_name(*name)));
            }
        }
        for (status, response) in responses.iter_mut() {
            if let RefOr::T(r) = response
                && r.description.is_empty()
            {
                r.description = success_description(status).to_string();
            }
        }
        for p in op.parameters.iter_mut().flatten() {
            if let RefOr::T(p) = p
                && p.parameter_in == ParameterIn::Query
                && let Some(s) = p.schema.as_mut()
            {
                not_null(s);
            }
        }
        if method == "patch"
            && let Some(RefOr::T(body)) = op.request_body.as_mut()
        {
            for content in body.content.values_mut() {
                if let RefOr::T(c) = content
                    && let Some(RefOr::Ref(r)) = c.schema.as_mut()
                    && let Some(name) = r.ref_location.strip_prefix("#/components/schemas/").map(str::to_string)
                    && create_bodies.contains(&name)
                {
                    let patch = format!("{name}Patch");
                    r.ref_location = format!("#/components/schemas/{patch}");
                    patch_bodies.push(name);
                }
            }
        }
    }
    let components = doc.components.get_or_insert_with(Default::default);
    for (_, name, description) in ERRORS {
        let body = ContentBuilder::new().schema(Some(RefOr::Ref(Ref::from_schema_name(ErrorBody::name())))).build();
        let r = ResponseBuilder::new().description(*description).content("application/json", body).build();
        components.responses.insert(name.to_string(), RefOr::T(r));
    }
    let mut errors = vec![(ErrorBody::name().to_string(), ErrorBody::schema())];
    ErrorBody::schemas(&mut errors);
    for (name, schema) in errors {
        components.schemas.entry(name).or_insert(schema);
    }
    for name in patch_bodies {
        let Some(RefOr::T(Schema::Object(o))) = components.schemas.get(&name) else { continue };
        let mut o = o.clone();
        o.required.clear();
        let d = o.description.take().map(|d| format!("{d}\n\n")).unwrap_or_default();
        o.description = Some(format!("{d}A change: only the fields sent are changed; `null` clears a field."));
        components.schemas.insert(format!("{name}Patch"), RefOr::T(Schema::Object(o)));
    }
}
