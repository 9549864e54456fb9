//! SCIM PATCH (RFC 7644 §3.5.2) applied to a resource's JSON, driven by the
//! published schema ([`super::discovery`]).
//!
//! - `op` is `add`, `replace` or `remove` in any case.
//! - Without `path`, `value` is an object of attributes (keys may be
//!   `name.givenName`, or the core schema URN holding an object); `remove`
//!   needs a path (400 `noTarget`).
//! - `path` is parsed by the `scim_v2` crate (400 `invalidPath` when
//!   malformed): `attr`, `attr.sub`, `urn:...:attr`, `attr[filter]`,
//!   `attr[filter].sub`.
//! - `add` appends to multi-valued attributes (an identical value is not
//!   added twice) and merges into complex ones; `replace` replaces
//!   multi-valued attributes whole and merges into complex ones; `remove`
//!   deletes, and with a `value` list on a multi-valued attribute removes
//!   those values (Entra ID's form for members).
//! - With a filter, the matching values are changed; when none matches,
//!   `add` with an `eq` filter creates the value (what Entra ID expects of
//!   `emails[type eq "work"].value`), and anything else (`replace`,
//!   `remove`, `add` with another filter) is 400 `noTarget` (RFC 7644
//!   §3.5.2.2, §3.5.2.3). A filter naming anything but sub-attributes of
//!   the attribute is 400 `invalidPath`.
//! - `remove` without a filter (or `null` for a key of a path-less value
//!   object, RFC 7643 §2.5; an operation whose `value` is `null` has no
//!   value: 400 `invalidValue`) unassigns the attribute; with a `value` list on a multi-valued
//!   attribute it removes those values. Either way the attribute (or the
//!   listed values) is absent afterwards, so removing what is not there
//!   succeeds. A required attribute (`userName`, `active`, `emails`,
//!   `emails.value`, a Group's `displayName`) cannot be unassigned: 400
//!   `mutability`.
//! - Adding a value with `primary: true` clears `primary` on the others
//!   (RFC 7643 §2.4: at most one primary).
//! - A path to a `readOnly` or `immutable` attribute or sub-attribute
//!   (`id`, `meta`, `schemas`, `groups`, `members.value`, ...) is 400
//!   `mutability`; a path-less value object may repeat one unchanged (a
//!   client sending the resource back), and is refused when it differs.
//! - Everything else is refused, never ignored: a path or value-object
//!   key naming an attribute or sub-attribute that `/Schemas` does not
//!   publish, or another schema's URN (no extension is published), is 400
//!   `invalidPath`; `Operations: []` is 400 `invalidSyntax`. Sub-attributes
//!   inside a value (`members: [{"value": .., "display": ..}]`) that are
//!   not published are dropped, as on POST and PUT.
//! - Error details quote client text through [`super::limits::excerpt`].
//!
//! Value types are checked afterwards, when the patched JSON is read back
//! into the typed resource (400 `invalidValue`).

use codersdk::{ScimPatchOperation, ScimSchema, ScimSchemaAttribute};
use scim_v2::filter::{AttrExp, CompValue, CompareOp, PatchPath, ValFilter};
use serde_json::{Map, Value};

use super::discovery::{find, find_sub};
use super::error::{ScimError, ScimResult};
use super::filter::val_matches;
use super::limits::{clip, excerpt, REASON_CHARS};

/// The three PATCH operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Replace,
    Remove,
}

impl OpKind {
    /// Parses `op`, case-insensitively; 400 `invalidSyntax` otherwise.
    pub fn parse(s: &str) -> ScimResult<OpKind> {
        match s.to_ascii_lowercase().as_str() {
            "add" => Ok(OpKind::Add),
            "replace" => Ok(OpKind::Replace),
            "remove" => Ok(OpKind::Remove),
            _ => Err(ScimError::invalid_syntax(format!(
                "unknown PATCH op {} (add, replace or remove)",
                excerpt(s)
            ))),
        }
    }
}

/// Refuses a PATCH body without operations (RFC 7644 §3.5.2: "one or
/// more"): 400 `invalidSyntax`.
pub fn check_ops(ops: &[ScimPatchOperation]) -> ScimResult<()> {
    if ops.is_empty() {
        return Err(ScimError::invalid_syntax(
            "Operations must hold at least one operation (RFC 7644 §3.5.2)",
        ));
    }
    Ok(())
}

/// Applies one operation to `res` (a resource's JSON object).
pub fn apply(res: &mut Value, schema: &ScimSchema, op: &ScimPatchOperation) -> ScimResult<()> {
    let kind = OpKind::parse(&op.op)?;
    match op.path.as_deref().map(str::trim) {
        None | Some("") => {
            if kind == OpKind::Remove {
                return Err(ScimError::no_target("a remove operation needs a path"));
            }
            match &op.value {
                Some(Value::Object(map)) => {
                    for (k, v) in map {
                        apply_key(res, schema, kind, k, v)?;
                    }
                    Ok(())
                }
                _ => Err(ScimError::invalid_value(
                    "without a path, the value of an add or replace must be an object",
                )),
            }
        }
        Some(path) => apply_path(res, schema, kind, path, op.value.as_ref(), false),
    }
}

fn apply_key(
    res: &mut Value,
    schema: &ScimSchema,
    kind: OpKind,
    key: &str,
    v: &Value,
) -> ScimResult<()> {
    if key.eq_ignore_ascii_case(&schema.id) {
        let Value::Object(inner) = v else {
            return Err(ScimError::invalid_value(format!(
                "the value of {} must be an object of its attributes",
                schema.id
            )));
        };
        for (k, v) in inner {
            apply_key(res, schema, kind, k, v)?;
        }
        return Ok(());
    }
    let key = super::strip_schema(key, &schema.id).unwrap_or(key);
    apply_path(res, schema, kind, key, Some(v), true)
}

/// Is `mutability` one that a PATCH may not change (RFC 7643 §7)?
fn fixed(mutability: &str) -> bool {
    mutability == "readOnly" || mutability == "immutable"
}

/// Are all attribute names in a value filter sub-attributes of `def`?
fn filter_names_known(f: &ValFilter, def: &ScimSchemaAttribute) -> bool {
    match f {
        ValFilter::Attr(AttrExp::Present(p) | AttrExp::Comparison(p, _, _)) => {
            p.uri.is_none() && p.sub_attr.is_none() && find_sub(def, &p.name).is_some()
        }
        ValFilter::Not(inner) => filter_names_known(inner, def),
        ValFilter::And(items) | ValFilter::Or(items) => {
            items.iter().all(|i| filter_names_known(i, def))
        }
    }
}

fn apply_path(
    res: &mut Value,
    schema: &ScimSchema,
    kind: OpKind,
    path: &str,
    value: Option<&Value>,
    from_value_map: bool,
) -> ScimResult<()> {
    let shown = excerpt(path);
    let parsed: PatchPath = path.parse().map_err(|e: scim_v2::filter::ParseError| {
        ScimError::invalid_path(format!(
            "invalid path {shown}: {}",
            clip(&e.to_string(), REASON_CHARS)
        ))
    })?;
    let (attr_path, filter, sub) = match &parsed {
        PatchPath::Attr(a) => (a, None, a.sub_attr.as_deref()),
        PatchPath::Value(vp) => (&vp.attr, Some(&vp.filter), vp.sub_attr.as_deref()),
    };
    if let Some(uri) = &attr_path.uri {
        if !uri.eq_ignore_ascii_case(&schema.id) {
            return Err(ScimError::invalid_path(format!(
                "{shown}: {} is not a schema of this resource (only {} is)",
                excerpt(uri),
                schema.id
            )));
        }
    }
    let Some(def) = find(schema, &attr_path.name) else {
        return Err(ScimError::invalid_path(format!(
            "{shown}: no attribute {} in {} (see /Schemas)",
            excerpt(&attr_path.name),
            schema.id
        )));
    };
    if kind != OpKind::Remove && value.is_none() {
        return Err(ScimError::invalid_value(format!(
            "{:?} of {shown} needs a value",
            kind
        )));
    }
    // `add`/`replace` with null is unassigning (RFC 7643 §2.5): a remove.
    let unassign = kind == OpKind::Remove || value.is_some_and(Value::is_null);
    if fixed(&def.mutability) {
        // A path-less value may repeat a read-only attribute unchanged
        // (a client sending the resource back); changing it is refused.
        let unset = |v: Option<&Value>| match v {
            None | Some(Value::Null) => true,
            Some(Value::Array(a)) => a.is_empty(),
            _ => false,
        };
        let have = super::filter::get_ci(res, &def.name);
        let unchanged = from_value_map
            && (def.name == "schemas" || have == value || (unset(have) && unset(value)));
        if unchanged {
            return Ok(());
        }
        return Err(ScimError::mutability(format!(
            "{} is {} and cannot be changed",
            def.name, def.mutability
        )));
    }
    if unassign && def.required && filter.is_none() && sub.is_none() {
        // Removing chosen values of a multi-valued attribute is allowed;
        // the resource is checked for what it still needs afterwards.
        let picks = kind == OpKind::Remove
            && def.multi_valued
            && matches!(value, Some(Value::Array(_) | Value::Object(_)));
        if !picks {
            return Err(ScimError::mutability(format!(
                "{} is required and cannot be removed",
                def.name
            )));
        }
    }
    // The sub-attribute named after the attribute (or after `[...]`).
    let sub_def = match sub {
        None => None,
        Some(s) => {
            if def.kind != "complex" {
                return Err(ScimError::invalid_path(format!(
                    "{shown}: {} has no sub-attributes",
                    def.name
                )));
            }
            let Some(sd) = find_sub(def, s) else {
                return Err(ScimError::invalid_path(format!(
                    "{shown}: {} has no sub-attribute {}",
                    def.name,
                    excerpt(s)
                )));
            };
            if fixed(&sd.mutability) {
                return Err(ScimError::mutability(format!(
                    "{}.{} is {} and cannot be changed",
                    def.name, sd.name, sd.mutability
                )));
            }
            if unassign && sd.required {
                return Err(ScimError::mutability(format!(
                    "{}.{} is required and cannot be removed",
                    def.name, sd.name
                )));
            }
            Some(sd)
        }
    };
    let obj = res
        .as_object_mut()
        .ok_or_else(|| ScimError::internal("patch target is not an object"))?;
    if let Some(filter) = filter {
        if !(def.multi_valued && def.kind == "complex") {
            return Err(ScimError::invalid_path(format!(
                "{shown}: {} is not a multi-valued complex attribute",
                def.name
            )));
        }
        if !filter_names_known(filter, def) {
            return Err(ScimError::invalid_path(format!(
                "{shown}: the filter may only name sub-attributes of {}",
                def.name
            )));
        }
        let sub = sub_def.map(|sd| sd.name.clone());
        filtered(obj, schema, def, filter, sub.as_deref(), kind, value)?;
    } else if let Some(sd) = sub_def {
        let sub = sd.name.clone();
        sub_attr(obj, def, &sub, kind, value);
    } else {
        whole(obj, def, kind, value);
    }
    tidy(obj, &def.name);
    Ok(())
}

/// Maps an element's keys to the schema's spelling; unknown keys are kept
/// (the typed read drops them).
fn canon(def: &ScimSchemaAttribute, v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let k = find_sub(def, k)
                        .map(|s| s.name.clone())
                        .unwrap_or(k.clone());
                    (k, v.clone())
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

fn as_list(def: &ScimSchemaAttribute, v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a.iter().map(|e| canon(def, e)).collect(),
        Value::Null => Vec::new(),
        other => vec![canon(def, other)],
    }
}

fn is_primary(v: &Value) -> bool {
    match v.get("primary") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// Clears `primary` on every element but `keep`.
fn single_primary(list: &mut [Value], keep: usize) {
    for (i, e) in list.iter_mut().enumerate() {
        if i != keep && is_primary(e) {
            if let Some(o) = e.as_object_mut() {
                o.insert("primary".into(), Value::Bool(false));
            }
        }
    }
}

fn merge(into: &mut Value, def: &ScimSchemaAttribute, from: &Value) {
    if !into.is_object() {
        *into = Value::Object(Map::new());
    }
    if let (Some(dst), Value::Object(src)) = (into.as_object_mut(), canon(def, from)) {
        for (k, v) in src {
            if v.is_null() {
                dst.remove(&k);
            } else {
                dst.insert(k, v);
            }
        }
    }
}

fn whole(
    obj: &mut Map<String, Value>,
    def: &ScimSchemaAttribute,
    kind: OpKind,
    value: Option<&Value>,
) {
    let key = def.name.clone();
    match kind {
        OpKind::Remove => match value {
            Some(v @ (Value::Array(_) | Value::Object(_))) if def.multi_valued => {
                let gone = ValueSet::new(&as_list(def, v));
                if let Some(Value::Array(list)) = obj.get_mut(&key) {
                    list.retain(|e| !gone.matches(e));
                }
            }
            _ => {
                obj.remove(&key);
            }
        },
        _ => {
            let v = value.cloned().unwrap_or(Value::Null);
            if v.is_null() {
                obj.remove(&key);
            } else if def.multi_valued {
                let new = as_list(def, &v);
                let mut list = match (kind, obj.remove(&key)) {
                    (OpKind::Add, Some(Value::Array(old))) => old,
                    _ => Vec::new(),
                };
                // A set of what the list holds: each add is O(1), so an
                // `add` of 20,000 members is not 20,000 list scans.
                let mut held: std::collections::HashSet<String> =
                    list.iter().map(Value::to_string).collect();
                for n in new {
                    if held.insert(n.to_string()) {
                        list.push(n.clone());
                    }
                    if is_primary(&n) {
                        if let Some(i) = list.iter().position(|e| *e == n) {
                            single_primary(&mut list, i);
                        }
                    }
                }
                obj.insert(key, Value::Array(list));
            } else if def.kind == "complex" && v.is_object() {
                let slot = obj.entry(key).or_insert(Value::Null);
                merge(slot, def, &v);
            } else {
                obj.insert(key, v);
            }
        }
    }
}

/// The values a `remove` names, each looked up in O(1). Two values of a
/// multi-valued attribute are the same value when their `value`s are equal
/// (or, when either has no `value`, when they are equal whole).
struct ValueSet {
    /// `value` of each named element that has one.
    values: std::collections::HashSet<String>,
    /// Every named element without a `value`, whole.
    whole_without_value: std::collections::HashSet<String>,
    /// Every named element, whole.
    whole: std::collections::HashSet<String>,
}

impl ValueSet {
    fn new(gone: &[Value]) -> ValueSet {
        let mut set = ValueSet {
            values: Default::default(),
            whole_without_value: Default::default(),
            whole: Default::default(),
        };
        for g in gone {
            match g.get("value") {
                Some(v) => {
                    set.values.insert(v.to_string());
                }
                None => {
                    set.whole_without_value.insert(g.to_string());
                }
            }
            set.whole.insert(g.to_string());
        }
        set
    }

    /// Whether some named element is the same value as `e`.
    fn matches(&self, e: &Value) -> bool {
        match e.get("value") {
            Some(v) => {
                self.values.contains(&v.to_string())
                    || self.whole_without_value.contains(&e.to_string())
            }
            None => self.whole.contains(&e.to_string()),
        }
    }
}

fn sub_attr(
    obj: &mut Map<String, Value>,
    def: &ScimSchemaAttribute,
    sub: &str,
    kind: OpKind,
    value: Option<&Value>,
) {
    let key = def.name.clone();
    let set = |e: &mut Value| set_sub(e, sub, kind, value);
    if def.multi_valued {
        let list = obj.entry(key).or_insert(Value::Array(Vec::new()));
        if let Value::Array(items) = list {
            if items.is_empty() && kind != OpKind::Remove {
                items.push(Value::Object(Map::new()));
            }
            items.iter_mut().for_each(set);
        }
    } else {
        if kind == OpKind::Remove && !obj.contains_key(&key) {
            return;
        }
        let slot = obj.entry(key).or_insert(Value::Null);
        set(slot);
    }
}

/// The `attr eq value` pairs of a filter made only of `eq` and `and`.
fn eq_pairs(f: &ValFilter, out: &mut Vec<(String, Value)>) -> bool {
    match f {
        ValFilter::Attr(AttrExp::Comparison(p, CompareOp::Eq, v)) if p.sub_attr.is_none() => {
            let v = match v {
                CompValue::Str(s) => Value::String(s.clone()),
                CompValue::True => Value::Bool(true),
                CompValue::False => Value::Bool(false),
                CompValue::Number(n) => Value::Number(n.clone()),
                CompValue::Null => return false,
            };
            out.push((p.name.clone(), v));
            true
        }
        ValFilter::And(items) => items.iter().all(|i| eq_pairs(i, out)),
        _ => false,
    }
}

fn filtered(
    obj: &mut Map<String, Value>,
    schema: &ScimSchema,
    def: &ScimSchemaAttribute,
    filter: &ValFilter,
    sub: Option<&str>,
    kind: OpKind,
    value: Option<&Value>,
) -> ScimResult<()> {
    let key = def.name.clone();
    let mut list = match obj.remove(&key) {
        Some(Value::Array(a)) => a,
        Some(Value::Null) | None => Vec::new(),
        Some(other) => vec![other],
    };
    let hits: Vec<usize> = list
        .iter()
        .enumerate()
        .filter(|(_, e)| val_matches(filter, e, schema, Some(&def.name)))
        .map(|(i, _)| i)
        .collect();
    let result = if hits.is_empty() {
        match kind {
            OpKind::Remove | OpKind::Replace => {
                obj.insert(key, Value::Array(list));
                return Err(ScimError::no_target(format!(
                    "no value of {} matches the filter",
                    def.name
                )));
            }
            OpKind::Add => {
                let mut pairs = Vec::new();
                if !eq_pairs(filter, &mut pairs) {
                    obj.insert(key, Value::Array(list));
                    return Err(ScimError::no_target(format!(
                        "no value of {} matches the filter",
                        def.name
                    )));
                }
                let mut elem = Value::Object(Map::new());
                let eqs: Map<String, Value> = pairs.into_iter().collect();
                merge(&mut elem, def, &Value::Object(eqs));
                apply_to_elem(&mut elem, def, sub, kind, value);
                list.push(elem);
                let last = list.len() - 1;
                if is_primary(&list[last]) {
                    single_primary(&mut list, last);
                }
                Ok(())
            }
        }
    } else {
        match (kind, sub) {
            (OpKind::Remove, None) => {
                let mut i = 0;
                list.retain(|_| {
                    let keep = !hits.contains(&i);
                    i += 1;
                    keep
                });
            }
            _ => {
                if sub.is_none() {
                    if let Some(e) = hits
                        .iter()
                        .find_map(|&i| changes_fixed(def, &list[i], value))
                    {
                        obj.insert(key, Value::Array(list));
                        return Err(e);
                    }
                }
                for &i in &hits {
                    apply_to_elem(&mut list[i], def, sub, kind, value);
                }
                if kind != OpKind::Remove {
                    if let Some(&i) = hits.iter().find(|&&i| is_primary(&list[i])) {
                        single_primary(&mut list, i);
                    }
                }
            }
        }
        Ok(())
    };
    obj.insert(key, Value::Array(list));
    result
}

/// 400 `mutability` when merging `value` into `elem` would change a
/// `readOnly` or `immutable` sub-attribute (a member's `value`).
fn changes_fixed(
    def: &ScimSchemaAttribute,
    elem: &Value,
    value: Option<&Value>,
) -> Option<ScimError> {
    let Value::Object(new) = canon(def, value?) else {
        return None;
    };
    new.iter().find_map(|(k, v)| {
        let sd = find_sub(def, k)?;
        (fixed(&sd.mutability) && elem.get(k) != Some(v)).then(|| {
            ScimError::mutability(format!(
                "{}.{} is {} and cannot be changed",
                def.name, sd.name, sd.mutability
            ))
        })
    })
}

fn apply_to_elem(
    elem: &mut Value,
    def: &ScimSchemaAttribute,
    sub: Option<&str>,
    kind: OpKind,
    value: Option<&Value>,
) {
    match sub {
        Some(sub) => set_sub(elem, sub, kind, value),
        None => {
            if let Some(v) = value {
                merge(elem, def, v);
            }
        }
    }
}

/// Sets (or, for `remove` or a null value, removes) sub-attribute `sub` of
/// `elem`, which becomes an object first if it is not one.
fn set_sub(elem: &mut Value, sub: &str, kind: OpKind, value: Option<&Value>) {
    if !elem.is_object() {
        *elem = Value::Object(Map::new());
    }
    let Some(o) = elem.as_object_mut() else {
        return;
    };
    match (kind, value) {
        (OpKind::Remove, _) | (_, None | Some(Value::Null)) => {
            o.remove(sub);
        }
        (_, Some(v)) => {
            o.insert(sub.to_owned(), v.clone());
        }
    }
}

/// Drops an attribute left empty (`{}`, `[]`): RFC 7643 §2.5 unassigned.
fn tidy(obj: &mut Map<String, Value>, key: &str) {
    let empty = match obj.get(key) {
        Some(Value::Object(o)) => o.values().all(Value::is_null),
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::Null) => true,
        _ => false,
    };
    if empty {
        obj.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn op(op: &str, path: Option<&str>, value: Value) -> ScimPatchOperation {
        ScimPatchOperation {
            op: op.into(),
            path: path.map(str::to_owned),
            value: if value.is_null() { None } else { Some(value) },
        }
    }

    fn run(mut res: Value, ops: &[ScimPatchOperation]) -> ScimResult<Value> {
        let schema = super::super::discovery::user();
        for o in ops {
            apply(&mut res, schema, o)?;
        }
        Ok(res)
    }

    fn base() -> Value {
        json!({"userName": "a", "emails": [{"value": "a@x.io", "type": "work", "primary": true}]})
    }

    #[test]
    fn replace_add_remove_simple() {
        let r = run(
            base(),
            &[
                op("Replace", Some("displayName"), json!("A")),
                op("ADD", Some("name.givenName"), json!("G")),
                op("add", None, json!({"title": "T", "name.familyName": "F"})),
            ],
        )
        .unwrap();
        assert_eq!(r["displayName"], "A");
        assert_eq!(r["name"], json!({"givenName": "G", "familyName": "F"}));
        assert_eq!(r["title"], "T");
        let r = run(r, &[op("remove", Some("name.givenName"), Value::Null)]).unwrap();
        assert_eq!(r["name"], json!({"familyName": "F"}));
        let r = run(r, &[op("remove", Some("name"), Value::Null)]).unwrap();
        assert!(r.get("name").is_none());
    }

    #[test]
    fn filtered_paths() {
        let r = run(
            base(),
            &[op(
                "replace",
                Some(r#"emails[type eq "work"].value"#),
                json!("b@x.io"),
            )],
        )
        .unwrap();
        assert_eq!(r["emails"][0]["value"], "b@x.io");
        // No home email yet: replace has no target, add with an eq filter
        // creates it.
        let e = run(
            r.clone(),
            &[op(
                "replace",
                Some(r#"emails[type eq "home"].value"#),
                json!("h@x.io"),
            )],
        )
        .unwrap_err();
        assert_eq!(e.scim_type, "noTarget");
        let r = run(
            r,
            &[op(
                "add",
                Some(r#"emails[type eq "home"].value"#),
                json!("h@x.io"),
            )],
        )
        .unwrap();
        assert_eq!(r["emails"][1], json!({"type": "home", "value": "h@x.io"}));
        let r = run(
            r,
            &[op("remove", Some(r#"emails[type eq "home"]"#), Value::Null)],
        )
        .unwrap();
        assert_eq!(r["emails"].as_array().unwrap().len(), 1);
        // A filter that matches nothing has no target.
        let e = run(
            r.clone(),
            &[op("remove", Some(r#"emails[type eq "x"]"#), Value::Null)],
        )
        .unwrap_err();
        assert_eq!(e.scim_type, "noTarget");
        let e = run(
            r,
            &[op(
                "replace",
                Some(r#"emails[value co "x"]"#),
                json!({"display": "d"}),
            )],
        );
        assert!(e.is_ok(), "co matches a@x.io");
    }

    #[test]
    fn primary_is_single() {
        let r = run(
            base(),
            &[op(
                "add",
                Some("emails"),
                json!([{"value": "n@x.io", "primary": true}]),
            )],
        )
        .unwrap();
        assert_eq!(r["emails"][0]["primary"], false);
        assert_eq!(r["emails"][1]["primary"], true);
    }

    #[test]
    fn errors() {
        let e = run(base(), &[op("remove", None, Value::Null)]).unwrap_err();
        assert_eq!(e.scim_type, "noTarget");
        let e = run(base(), &[op("frob", Some("title"), json!("x"))]).unwrap_err();
        assert_eq!(e.scim_type, "invalidSyntax");
        let e = run(base(), &[op("replace", Some("title[[["), json!("x"))]).unwrap_err();
        assert_eq!(e.scim_type, "invalidPath");
        let e = run(base(), &[op("replace", Some("groups"), json!([]))]).unwrap_err();
        assert_eq!(e.scim_type, "mutability");
        let e = run(base(), &[op("replace", None, json!("x"))]).unwrap_err();
        assert_eq!(e.scim_type, "invalidValue");
        let e = run(
            base(),
            &[op(
                "replace",
                Some(r#"emails[value co "zz"].type"#),
                json!("x"),
            )],
        )
        .unwrap_err();
        assert_eq!(e.scim_type, "noTarget");
        // Read-only keys in a value map may repeat what is there; other
        // schemas and unknown names are refused.
        run(
            base(),
            &[op("replace", None, json!({"schemas": ["x"], "groups": []}))],
        )
        .unwrap();
        for (v, t) in [
            (json!({"id": "x"}), "mutability"),
            (json!({"meta": {}}), "mutability"),
            (
                json!({"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "d"}),
                "invalidPath",
            ),
            (json!({"nosuch": 1}), "invalidPath"),
            (json!({"name.nosuch": 1}), "invalidPath"),
        ] {
            let e = run(base(), &[op("replace", None, v.clone())]).unwrap_err();
            assert_eq!(e.scim_type, t, "{v}");
        }
        for (o, p, t) in [
            ("replace", "nosuch", "invalidPath"),
            ("remove", "userName", "mutability"),
            ("remove", "emails", "mutability"),
            ("remove", "emails.value", "mutability"),
            ("replace", "active", "mutability"),
            ("replace", "meta.version", "mutability"),
            ("add", "title.sub", "invalidPath"),
            ("add", r#"emails[nosuch eq "x"].value"#, "invalidPath"),
            ("add", "emails.nosuch", "invalidPath"),
        ] {
            let v = if p == "active" {
                Value::Null
            } else {
                json!("x")
            };
            let o = ScimPatchOperation {
                op: o.into(),
                path: Some(p.into()),
                value: Some(v),
            };
            let e = run(base(), &[o]).unwrap_err();
            assert_eq!(e.scim_type, t, "{p}");
        }
        assert_eq!(check_ops(&[]).unwrap_err().scim_type, "invalidSyntax");
    }

    #[test]
    fn members_remove_forms() {
        let schema = super::super::discovery::group();
        let mut g = json!({"displayName": "g", "members": [{"value": "1"}, {"value": "2"}, {"value": "3"}]});
        apply(
            &mut g,
            schema,
            &op("remove", Some(r#"members[value eq "1"]"#), Value::Null),
        )
        .unwrap();
        apply(
            &mut g,
            schema,
            &op("Remove", Some("members"), json!([{"value": "2"}])),
        )
        .unwrap();
        assert_eq!(g["members"], json!([{"value": "3"}]));
        apply(
            &mut g,
            schema,
            &op(
                "add",
                Some("members"),
                json!([{"value": "3"}, {"value": "4"}]),
            ),
        )
        .unwrap();
        assert_eq!(g["members"], json!([{"value": "3"}, {"value": "4"}]));
        apply(&mut g, schema, &op("remove", Some("members"), Value::Null)).unwrap();
        assert!(g.get("members").is_none());
    }
}
