//! Typed discovery: a documented method's params and result as JSON Schema,
//! derived from its handler's types with `schemars`, for `rpc.discover`.
//!
//! A plugin starts afresh for every call and is rarely asked to describe
//! itself, so registration stores only a function pointer per method; the
//! schemas are built when `rpc.discover` is answered.

use schemars::{JsonSchema, Schema, SchemaGenerator, generate::SchemaSettings};
use serde_json::{Map, Value};
use std::borrow::Cow;
use wasplug_protocol::{
    COMPONENTS_SCHEMAS_REF, Components, ContentDescriptor, Discover, DiscoverMethod, ParamStructure,
};

/// What [`Plugin::method_doc`](crate::Plugin::method_doc) says about a
/// method beyond its types: a description and, when the params go as an
/// array, a name for each element.
///
/// A `&'static str` or a `String` converts into a `Doc` holding just the
/// description.
///
/// ```
/// use wasplug_pdk::Doc;
///
/// let doc = Doc::new("Sleeps, then answers how long it slept").params(&["ms"]);
/// let plain: Doc = "Answers pong".into();
/// # let _ = (doc, plain);
/// ```
#[derive(Debug, Clone)]
pub struct Doc {
    description: Cow<'static, str>,
    params: &'static [&'static str],
}

impl Doc {
    /// A method doing what `description` says.
    pub fn new(description: impl Into<Cow<'static, str>>) -> Self {
        Self {
            description: description.into(),
            params: &[],
        }
    }

    /// Names the params that go by position: the handler's one param (when
    /// it takes a scalar, a list, or anything but a struct or a tuple), or
    /// the elements of its tuple, in order. Unnamed ones are `arg0`,
    /// `arg1`...; a struct's params are named after its fields.
    #[must_use]
    pub fn params(mut self, names: &'static [&'static str]) -> Self {
        self.params = names;
        self
    }
}

impl From<&'static str> for Doc {
    fn from(description: &'static str) -> Self {
        Self::new(description)
    }
}

impl From<String> for Doc {
    fn from(description: String) -> Self {
        Self::new(description)
    }
}

/// Builds one type's schema (`SchemaGenerator::subschema_for::<T>`: one
/// function per type, shared by every method using it).
type SchemaFor = fn(&mut SchemaGenerator) -> Schema;

/// A documented method: its [`Doc`] and how to get its schemas.
pub(crate) struct MethodDoc {
    doc: Doc,
    params: SchemaFor,
    result: SchemaFor,
}

impl MethodDoc {
    pub(crate) fn new<P: JsonSchema, R: JsonSchema>(doc: Doc) -> Self {
        Self {
            doc,
            params: SchemaGenerator::subschema_for::<P>,
            result: SchemaGenerator::subschema_for::<R>,
        }
    }
}

/// Describes the methods of `doc` that have a [`MethodDoc`] (`docs` is in
/// the same order as `doc.methods`, which may go on with `rpc.discover`).
pub(crate) type DescribeAll = fn(&mut Discover, &[Option<&MethodDoc>]);

/// The [`DescribeAll`] of the kit.
pub(crate) fn describe(doc: &mut Discover, docs: &[Option<&MethodDoc>]) {
    let mut describer = Describer::new();
    for (method, method_doc) in doc.methods.iter_mut().zip(docs) {
        if let Some(method_doc) = method_doc {
            describer.describe(method, method_doc);
        }
    }
    doc.components = describer.components();
}

/// Builds the schemas of the documented methods in one generator, whose
/// named schemas become the document's `components`.
struct Describer {
    generator: SchemaGenerator,
}

impl Describer {
    fn new() -> Self {
        // The schemas say what a method accepts (serde's deserialize view);
        // those of results come from the same generator, so that each named
        // type has one schema in `components`.
        let settings = SchemaSettings::draft2020_12().with(|s| {
            s.definitions_path = COMPONENTS_SCHEMAS_REF.into();
            s.meta_schema = None;
        });
        Self {
            generator: settings.into_generator(),
        }
    }

    /// Fills in `method`'s description, params and result.
    fn describe(&mut self, method: &mut DiscoverMethod, doc: &MethodDoc) {
        let params = (doc.params)(&mut self.generator).into();
        let result = (doc.result)(&mut self.generator).into();
        let (structure, params) = descriptors(params, self.generator.definitions(), doc.doc.params);
        method.description = Some(doc.doc.description.clone().into_owned());
        method.param_structure = structure;
        method.params = params;
        method.result = Some(ContentDescriptor {
            name: "result".to_owned(),
            description: None,
            required: false,
            schema: result,
        });
    }

    /// The named schemas the described methods refer to.
    fn components(mut self) -> Option<Components> {
        let schemas = self.generator.take_definitions(true);
        (!schemas.is_empty()).then_some(Components { schemas })
    }
}

/// The params' descriptors, as the params are sent: none for `()`; one per
/// field of a struct (by name); one per element of a tuple (by position,
/// each required); else one, by position (a one-element array also
/// deserializes into its element, so `[x]` reaches a handler taking `x`),
/// required unless it may be `null` (no params are `null`).
fn descriptors(
    schema: Value,
    definitions: &Map<String, Value>,
    names: &[&str],
) -> (Option<ParamStructure>, Vec<ContentDescriptor>) {
    let resolved = resolve(&schema, definitions);
    if resolved.get("type").and_then(Value::as_str) == Some("null") {
        return (None, Vec::new());
    }
    if let Some(properties) = resolved.get("properties").and_then(Value::as_object) {
        let required = |name: &str| {
            resolved
                .get("required")
                .and_then(Value::as_array)
                .is_some_and(|r| r.iter().any(|n| n.as_str() == Some(name)))
        };
        let params = properties
            .iter()
            .map(|(name, schema)| ContentDescriptor {
                name: name.clone(),
                description: description(resolve(schema, definitions)),
                required: required(name),
                schema: schema.clone(),
            })
            .collect();
        return (Some(ParamStructure::ByName), params);
    }
    let positional = |at: usize, schema: Value, required: bool| ContentDescriptor {
        name: names
            .get(at)
            .map_or_else(|| format!("arg{at}"), |name| (*name).to_owned()),
        description: description(resolve(&schema, definitions)),
        required,
        schema,
    };
    let params = match resolved.get("prefixItems").and_then(Value::as_array) {
        // A tuple takes every element, `null` for an `Option` one.
        Some(items) => items
            .iter()
            .enumerate()
            .map(|(at, item)| positional(at, item.clone(), true))
            .collect(),
        // One param, which may be left out when it may be `null`.
        None => {
            let required = !accepts_null(resolved);
            vec![positional(0, schema, required)]
        }
    };
    (Some(ParamStructure::ByPosition), params)
}

/// The schema a `$ref` to `components` points to, or `schema` itself.
fn resolve<'a>(schema: &'a Value, definitions: &'a Map<String, Value>) -> &'a Value {
    schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix(COMPONENTS_SCHEMAS_REF))
        .and_then(|name| definitions.get(name))
        .unwrap_or(schema)
}

fn description(schema: &Value) -> Option<String> {
    schema
        .get("description")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// Whether `null` fits the schema as schemars writes an `Option`: `true`,
/// `{"type": [.., "null"]}`, or an `anyOf`/`oneOf` with a branch for it.
fn accepts_null(schema: &Value) -> bool {
    match schema {
        Value::Bool(any) => *any,
        Value::Object(object) if object.is_empty() => true,
        _ => {
            let null_type = match schema.get("type") {
                Some(Value::String(t)) => t == "null",
                Some(Value::Array(types)) => types.iter().any(|t| t == "null"),
                _ => false,
            };
            null_type
                || ["anyOf", "oneOf"].iter().any(|key| {
                    schema
                        .get(key)
                        .and_then(Value::as_array)
                        .is_some_and(|branches| branches.iter().any(accepts_null))
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::{json, value::RawValue};

    /// A documented struct.
    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Greet {
        /// Who to greet.
        name: String,
        /// How many times.
        times: Option<u32>,
    }

    fn method<P: JsonSchema, R: JsonSchema>(
        doc: impl Into<Doc>,
    ) -> (DiscoverMethod, Option<Components>) {
        let mut describer = Describer::new();
        let mut method = DiscoverMethod::new("m");
        describer.describe(&mut method, &MethodDoc::new::<P, R>(doc.into()));
        (method, describer.components())
    }

    #[test]
    fn unit_params_are_none() {
        let (m, components) = method::<(), String>("Answers pong");
        assert_eq!(m.description.as_deref(), Some("Answers pong"));
        assert_eq!(m.param_structure, None);
        assert!(m.params.is_empty());
        assert_eq!(m.result.unwrap().schema, json!({"type": "string"}));
        assert_eq!(components, None);
    }

    #[test]
    fn a_struct_goes_by_name_with_field_docs() {
        let (m, components) = method::<Greet, Vec<Greet>>("Greets");
        assert_eq!(m.param_structure, Some(ParamStructure::ByName));
        let names: Vec<_> = m.params.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["name", "times"]);
        assert!(m.params[0].required && !m.params[1].required);
        assert_eq!(m.params[0].description.as_deref(), Some("Who to greet."));
        assert_eq!(m.params[0].schema["type"], "string");
        let schemas = components.unwrap().schemas;
        assert_eq!(schemas["Greet"]["description"], "A documented struct.");
        assert_eq!(
            m.result.unwrap().schema["items"]["$ref"],
            "#/components/schemas/Greet"
        );
    }

    #[test]
    fn scalars_and_tuples_go_by_position() {
        let (m, _) = method::<u64, u64>(Doc::new("Sleeps").params(&["ms"]));
        assert_eq!(m.param_structure, Some(ParamStructure::ByPosition));
        assert_eq!(m.params.len(), 1);
        assert_eq!(m.params[0].name, "ms");
        assert!(m.params[0].required);
        assert_eq!(m.params[0].schema["type"], "integer");

        let (m, _) = method::<(String, Box<RawValue>, Option<u8>), ()>(
            Doc::new("Calls").params(&["method"]),
        );
        let names: Vec<_> = m.params.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["method", "arg1", "arg2"]);
        // A tuple needs every element.
        assert!(m.params.iter().all(|p| p.required));
        assert_eq!(m.params[1].schema, json!(true));
        assert_eq!(m.result.unwrap().schema["type"], "null");
        // A lone optional param may be left out.
        let (m, _) = method::<Option<u64>, ()>("Maybe");
        assert_eq!(m.params[0].name, "arg0");
        assert!(!m.params[0].required);
    }
}
