//! `wasplug methods` as text: a plugin's discover document, each method
//! with its description and its params and result as compact types
//! (`[ms: integer ≥ 0]`, `{name: string, times?: integer}`) read from their
//! JSON Schemas.

use crate::text::escape;
use serde_json::Value;
use std::fmt::{self, Write as _};
use wasplug_protocol::{COMPONENTS_SCHEMAS_REF, ContentDescriptor, Discover, ParamStructure};

/// How deep [`compact`] follows nested schemas before writing `…`.
const MAX_DEPTH: usize = 4;
/// Longest type [`compact`] writes before cutting it with `…`.
const MAX_TYPE_LEN: usize = 200;

/// The document as text. Everything in it comes from the plugin, so each
/// piece is made safe for the terminal ([`escape`]).
pub(crate) fn text(doc: &Discover) -> Result<String, fmt::Error> {
    let mut out = String::new();
    writeln!(out, "name:        {}", escape(&doc.info.title))?;
    writeln!(out, "version:     {}", escape(&doc.info.version))?;
    writeln!(out, "protocol:    {}", doc.info.protocol)?;
    if let Some(description) = &doc.info.description {
        writeln!(out, "description: {}", one_line(description))?;
    }
    writeln!(out, "methods:")?;
    for method in &doc.methods {
        writeln!(out, "  {}", escape(&method.name))?;
        if let Some(description) = &method.description {
            writeln!(out, "    {}", one_line(description))?;
        }
        let Some(result) = &method.result else {
            // Undocumented: only its name is known.
            continue;
        };
        writeln!(
            out,
            "    params: {}",
            params(method.param_structure, &method.params)
        )?;
        for param in &method.params {
            if let Some(description) = &param.description {
                writeln!(
                    out,
                    "      {}: {}",
                    escape(&param.name),
                    one_line(description)
                )?;
            }
        }
        write!(out, "    result: {}", compact(&result.schema))?;
        match &result.description {
            Some(description) => writeln!(out, " ({})", one_line(description))?,
            None => writeln!(out)?,
        }
    }
    let schemas = doc.components.as_ref().map(|c| &c.schemas);
    if let Some(schemas) = schemas.filter(|s| !s.is_empty()) {
        writeln!(out, "types:")?;
        for (name, schema) in schemas {
            writeln!(out, "  {}: {}", escape(name), compact(schema))?;
            if let Some(description) = schema.get("description").and_then(Value::as_str) {
                writeln!(out, "    {}", one_line(description))?;
            }
            let fields = schema.get("properties").and_then(Value::as_object);
            for (field, field_schema) in fields.into_iter().flatten() {
                if let Some(description) = field_schema.get("description").and_then(Value::as_str) {
                    writeln!(out, "    {}: {}", escape(field), one_line(description))?;
                }
            }
        }
    }
    Ok(out)
}

/// A description on one line: its line breaks become spaces, the rest is
/// escaped.
fn one_line(text: &str) -> String {
    let joined: Vec<&str> = text.lines().map(str::trim).collect();
    escape(&joined.join(" ")).into_owned()
}

/// The params as they are sent: `none`, `[a: T, b: U]` by position,
/// `{a: T, b?: U}` by name (`?`: may be left out).
fn params(structure: Option<ParamStructure>, params: &[ContentDescriptor]) -> String {
    if params.is_empty() {
        return "none".to_owned();
    }
    let list: Vec<String> = params
        .iter()
        .map(|p| {
            let optional = if p.required { "" } else { "?" };
            format!("{}{optional}: {}", escape(&p.name), compact(&p.schema))
        })
        .collect();
    match structure {
        Some(ParamStructure::ByName) => format!("{{{}}}", list.join(", ")),
        _ => format!("[{}]", list.join(", ")),
    }
}

/// A schema as a short type: `integer ≥ 0`, `string | null`, `[string]`,
/// `{a: integer, b?: string}`, `Primes` (a named type, listed under
/// `types:`), `any`. Escaped for the terminal, and cut when long.
pub(crate) fn compact(schema: &Value) -> String {
    cut(type_of(schema, 0))
}

fn cut(text: String) -> String {
    let text = escape(&text).into_owned();
    if text.chars().count() <= MAX_TYPE_LEN {
        return text;
    }
    let mut short: String = text.chars().take(MAX_TYPE_LEN).collect();
    short.push('…');
    short
}

fn type_of(schema: &Value, depth: usize) -> String {
    let object = match schema {
        Value::Bool(true) => return "any".to_owned(),
        Value::Bool(false) => return "nothing".to_owned(),
        Value::Object(object) if object.is_empty() => return "any".to_owned(),
        Value::Object(object) => object,
        _ => return "?".to_owned(),
    };
    if depth > MAX_DEPTH {
        return "…".to_owned();
    }
    if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
        return reference
            .strip_prefix(COMPONENTS_SCHEMAS_REF)
            .unwrap_or(reference)
            .to_owned();
    }
    if let Some(value) = object.get("const") {
        return value.to_string();
    }
    if let Some(values) = object.get("enum").and_then(Value::as_array) {
        return alternatives(values.iter().map(Value::to_string));
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(branches) = object.get(key).and_then(Value::as_array) {
            return alternatives(branches.iter().map(|b| type_of(b, depth + 1)));
        }
    }
    match object.get("type") {
        Some(Value::String(name)) => typed(name, schema, depth),
        Some(Value::Array(names)) => alternatives(
            names
                .iter()
                .filter_map(Value::as_str)
                .map(|name| typed(name, schema, depth)),
        ),
        _ if object.contains_key("properties") => typed("object", schema, depth),
        _ => "any".to_owned(),
    }
}

fn alternatives(types: impl Iterator<Item = String>) -> String {
    types.collect::<Vec<_>>().join(" | ")
}

/// The schema as a value of JSON type `name`.
fn typed(name: &str, schema: &Value, depth: usize) -> String {
    match name {
        "integer" | "number" => {
            let bound = |key: &str| schema.get(key).filter(|v| v.is_number());
            match (bound("minimum"), bound("maximum")) {
                (Some(min), Some(max)) => format!("{name} in [{min}, {max}]"),
                (Some(min), None) => format!("{name} ≥ {min}"),
                (None, Some(max)) => format!("{name} ≤ {max}"),
                (None, None) => name.to_owned(),
            }
        }
        "array" => {
            if let Some(items) = schema.get("prefixItems").and_then(Value::as_array) {
                let items: Vec<String> = items.iter().map(|i| type_of(i, depth + 1)).collect();
                format!("[{}]", items.join(", "))
            } else {
                let item = schema
                    .get("items")
                    .map_or("any".to_owned(), |i| type_of(i, depth + 1));
                format!("[{item}, …]")
            }
        }
        "object" => object(schema, depth),
        other => other.to_owned(),
    }
}

/// `{a: T, b?: U}`; a map as `{string: T}`.
fn object(schema: &Value, depth: usize) -> String {
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return match schema.get("additionalProperties") {
            Some(Value::Bool(false)) => "{}".to_owned(),
            Some(values) => format!("{{string: {}}}", type_of(values, depth + 1)),
            None => "object".to_owned(),
        };
    };
    let required = |name: &str| {
        schema
            .get("required")
            .and_then(Value::as_array)
            .is_some_and(|r| r.iter().any(|n| n.as_str() == Some(name)))
    };
    let fields: Vec<String> = properties
        .iter()
        .map(|(name, field)| {
            let optional = if required(name) { "" } else { "?" };
            format!("{name}{optional}: {}", type_of(field, depth + 1))
        })
        .collect();
    format!("{{{}}}", fields.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn schemas_read_as_short_types() {
        for (schema, expected) in [
            (json!(true), "any"),
            (json!({}), "any"),
            (json!(false), "nothing"),
            (json!({"type": "string"}), "string"),
            (
                json!({"type": "integer", "format": "uint64", "minimum": 0}),
                "integer ≥ 0",
            ),
            (
                json!({"type": "integer", "minimum": 0, "maximum": 255}),
                "integer in [0, 255]",
            ),
            (
                json!({"type": ["integer", "null"], "minimum": 0}),
                "integer ≥ 0 | null",
            ),
            (
                json!({"type": "array", "items": {"type": "string"}}),
                "[string, …]",
            ),
            (
                json!({"type": "array", "prefixItems": [{"type": "string"}, true]}),
                "[string, any]",
            ),
            (
                json!({"type": "object", "properties": {"a": {"type": "boolean"}, "b": {"type": "null"}},
                       "required": ["a"]}),
                "{a: boolean, b?: null}",
            ),
            (
                json!({"type": "object", "additionalProperties": {"type": "number"}}),
                "{string: number}",
            ),
            (json!({"$ref": "#/components/schemas/Primes"}), "Primes"),
            (json!({"enum": ["a", 1]}), "\"a\" | 1"),
            (
                json!({"anyOf": [{"$ref": "#/components/schemas/X"}, {"type": "null"}]}),
                "X | null",
            ),
        ] {
            assert_eq!(compact(&schema), expected, "{schema}");
        }
    }

    #[test]
    fn deep_and_long_types_are_cut_and_text_is_escaped() {
        let mut deep = json!({"type": "string"});
        for _ in 0..10 {
            deep = json!({"type": "array", "items": deep});
        }
        assert_eq!(compact(&deep), "[[[[[…, …], …], …], …], …]");
        let wide: serde_json::Map<String, Value> = (0..100)
            .map(|i| (format!("field{i}"), json!({"type": "string"})))
            .collect();
        let long = compact(&json!({"type": "object", "properties": wide}));
        assert!(long.ends_with('…') && long.chars().count() == MAX_TYPE_LEN + 1);
        let hostile = compact(&json!({"$ref": "#/components/schemas/\u{1b}[2J"}));
        assert_eq!(hostile, "\\x1b[2J");
    }

    #[test]
    fn a_document_lists_params_results_and_types() {
        let doc: Discover = serde_json::from_value(json!({
            "openrpc": "1.3.2",
            "info": {"title": "t", "version": "1", "description": "Does\nthings",
                     "x-wasplug-protocol": 1},
            "methods": [
                {"name": "plain"},
                {"name": "greet", "description": "Greets", "paramStructure": "by-name",
                 "params": [{"name": "who", "required": true, "description": "Whom",
                             "schema": {"type": "string"}},
                            {"name": "loud", "schema": {"type": "boolean"}}],
                 "result": {"name": "result", "schema": {"$ref": "#/components/schemas/Hi"}}},
                {"name": "none", "params": [], "result": {"name": "result", "schema": {"type": "null"}}}
            ],
            "components": {"schemas": {"Hi": {"type": "object", "description": "A greeting",
                "properties": {"text": {"type": "string", "description": "What to say"}},
                "required": ["text"]}}}
        }))
        .unwrap();
        assert_eq!(
            text(&doc).unwrap(),
            "name:        t\nversion:     1\nprotocol:    1\ndescription: Does things\nmethods:\n  \
             plain\n  greet\n    Greets\n    params: {who: string, loud?: boolean}\n      who: Whom\n    \
             result: Hi\n  none\n    params: none\n    result: null\ntypes:\n  Hi: {text: string}\n    \
             A greeting\n    text: What to say\n"
        );
    }
}
