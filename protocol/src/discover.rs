//! The `rpc.discover` answer: an OpenRPC-shaped description of a plugin.

use crate::version::PROTOCOL_VERSION;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The method every plugin answers with its [`Discover`] document.
pub const DISCOVER_METHOD: &str = "rpc.discover";

/// The OpenRPC version [`Discover::new`] declares.
pub const OPENRPC_VERSION: &str = "1.3.2";

/// The answer to [`DISCOVER_METHOD`], an OpenRPC-shaped document:
///
/// ```json
/// {"openrpc":"1.3.2",
///  "info":{"title":"my-plugin","version":"0.1.0","x-wasplug-protocol":1},
///  "methods":[
///    {"name":"ping","params":[]},
///    {"name":"sleep","description":"Sleeps, then answers how long it slept",
///     "paramStructure":"by-position",
///     "params":[{"name":"ms","required":true,"schema":{"type":"integer","minimum":0}}],
///     "result":{"name":"result","schema":{"type":"integer","minimum":0}}}],
///  "components":{"schemas":{}}}
/// ```
///
/// A method's params, result and description are there when the plugin
/// documented them (the Rust kit derives the JSON Schemas from the handler's
/// types); a schema may refer (`$ref`) to the document's
/// `components.schemas`. Documents of older plugins, which list only names,
/// parse too.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Discover {
    /// The OpenRPC version of the document ([`OPENRPC_VERSION`]).
    pub openrpc: String,
    /// The plugin's name, version and protocol version.
    pub info: DiscoverInfo,
    /// The methods the plugin answers.
    pub methods: Vec<DiscoverMethod>,
    /// Schemas the methods' schemas refer to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<Components>,
}

/// The `info` member of a [`Discover`] document.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct DiscoverInfo {
    /// The plugin's name.
    pub title: String,
    /// The plugin's version.
    pub version: String,
    /// What the plugin does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The wasplug protocol version the plugin speaks.
    #[serde(rename = "x-wasplug-protocol")]
    pub protocol: u32,
}

/// One method in a [`Discover`] document.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct DiscoverMethod {
    /// The method name.
    pub name: String,
    /// What the method does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether the params go as an array (one element per descriptor, in
    /// order) or an object (one member per descriptor); absent when the
    /// method is not documented.
    #[serde(
        rename = "paramStructure",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub param_structure: Option<ParamStructure>,
    /// The params, one descriptor each (empty when there are none, or the
    /// method is not documented).
    #[serde(default)]
    pub params: Vec<ContentDescriptor>,
    /// The result, when the method is documented.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<ContentDescriptor>,
}

/// How a method takes its params (OpenRPC's `paramStructure`).
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ParamStructure {
    /// An object: each param is a member named after its descriptor.
    ByName,
    /// An array: each param is an element, in the descriptors' order.
    ByPosition,
    /// Either.
    Either,
}

/// A param or a result: its name, JSON Schema and description (an OpenRPC
/// content descriptor).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ContentDescriptor {
    /// The name: of the param (its object member, for
    /// [`ParamStructure::ByName`]), or `"result"`.
    pub name: String,
    /// What it means.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether a param must be given.
    #[serde(default, skip_serializing_if = "is_false")]
    pub required: bool,
    /// Its JSON Schema (draft 2020-12); `true` (anything) when absent.
    #[serde(default = "any_schema")]
    pub schema: Value,
}

/// The `components` member of a [`Discover`] document.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct Components {
    /// Named schemas, which schemas refer to as
    /// `{"$ref": "#/components/schemas/<name>"}`.
    #[serde(default)]
    pub schemas: Map<String, Value>,
}

/// The prefix of a `$ref` to a schema of [`Components::schemas`].
pub const COMPONENTS_SCHEMAS_REF: &str = "#/components/schemas/";

fn any_schema() -> Value {
    Value::Bool(true)
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde passes a reference
fn is_false(b: &bool) -> bool {
    !*b
}

impl Discover {
    /// A document for plugin `name` at `version`, speaking [`PROTOCOL_VERSION`], listing
    /// `methods` (without param descriptors).
    pub fn new(
        name: impl Into<String>,
        version: impl Into<String>,
        methods: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            openrpc: OPENRPC_VERSION.to_owned(),
            info: DiscoverInfo {
                title: name.into(),
                version: version.into(),
                description: None,
                protocol: PROTOCOL_VERSION,
            },
            methods: methods.into_iter().map(DiscoverMethod::new).collect(),
            components: None,
        }
    }

    /// The names of the listed methods, in order.
    pub fn method_names(&self) -> impl Iterator<Item = &str> {
        self.methods.iter().map(|m| m.name.as_str())
    }

    /// Whether `method` is listed.
    pub fn has_method(&self, method: &str) -> bool {
        self.method_names().any(|m| m == method)
    }

    /// The method named `method`, if listed.
    pub fn method(&self, method: &str) -> Option<&DiscoverMethod> {
        self.methods.iter().find(|m| m.name == method)
    }

    /// The schema a `$ref` of this document points to
    /// (`#/components/schemas/<name>`), if it has it.
    pub fn resolve(&self, reference: &str) -> Option<&Value> {
        let name = reference.strip_prefix(COMPONENTS_SCHEMAS_REF)?;
        self.components.as_ref()?.schemas.get(name)
    }
}

impl DiscoverMethod {
    /// An undocumented method: its name only.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            description: None,
            param_structure: None,
            params: Vec::new(),
            result: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shape() {
        let d = Discover::new("demo", "0.1.0", ["ping", "echo"]);
        assert_eq!(
            serde_json::to_string(&d).unwrap(),
            r#"{"openrpc":"1.3.2","info":{"title":"demo","version":"0.1.0","x-wasplug-protocol":1},"methods":[{"name":"ping","params":[]},{"name":"echo","params":[]}]}"#
        );
        assert!(d.has_method("echo") && !d.has_method("nope"));
        assert_eq!(d.method_names().collect::<Vec<_>>(), ["ping", "echo"]);
    }

    #[test]
    fn old_documents_parse() {
        // As the kit wrote them before methods were documented.
        let d: Discover = serde_json::from_str(
            r#"{"openrpc":"1.3.2","info":{"title":"t","version":"v","x-wasplug-protocol":1},
               "methods":[{"name":"a","params":[]},{"name":"b"}]}"#,
        )
        .unwrap();
        assert_eq!(d, Discover::new("t", "v", ["a", "b"]));
    }

    #[test]
    fn documented_methods_round_trip() {
        let text = json!({
            "openrpc": "1.3.2",
            "info": {"title": "t", "version": "v", "description": "d", "x-wasplug-protocol": 1,
                     "x-other": 1},
            "methods": [{
                "name": "greet", "description": "Greets", "paramStructure": "by-name",
                "params": [{"name": "who", "required": true, "schema": {"type": "string"}},
                           {"name": "loud", "schema": {"type": "boolean"}, "description": "shout"}],
                "result": {"name": "result", "schema": {"$ref": "#/components/schemas/Greeting"}},
                "x-extra": [1]
            }],
            "components": {"schemas": {"Greeting": {"type": "string"}}}
        })
        .to_string();
        let d: Discover = serde_json::from_str(&text).unwrap();
        assert_eq!(d.info.description.as_deref(), Some("d"));
        let greet = d.method("greet").unwrap();
        assert_eq!(greet.param_structure, Some(ParamStructure::ByName));
        assert_eq!(greet.params.len(), 2);
        assert!(greet.params[0].required && !greet.params[1].required);
        assert_eq!(greet.params[1].description.as_deref(), Some("shout"));
        let result = greet.result.as_ref().unwrap();
        assert_eq!(
            d.resolve(result.schema["$ref"].as_str().unwrap()),
            Some(&json!({"type": "string"}))
        );
        assert_eq!(d.resolve("#/components/schemas/Nope"), None);
        assert_eq!(d.resolve("#/$defs/Greeting"), None);
        let again: Discover = serde_json::from_str(&serde_json::to_string(&d).unwrap()).unwrap();
        assert_eq!(d, again);
        // A descriptor without a schema accepts anything.
        let bare: ContentDescriptor = serde_json::from_str(r#"{"name":"x"}"#).unwrap();
        assert_eq!(bare.schema, Value::Bool(true));
        assert!(!serde_json::to_string(&bare).unwrap().contains("required"));
    }
}
