//! The `rpc.discover` answer: an OpenRPC-shaped description of a plugin.

use crate::version::PROTOCOL_VERSION;
use serde::{Deserialize, Serialize};

/// The method every plugin answers with its [`Discover`] document.
pub const DISCOVER_METHOD: &str = "rpc.discover";

/// The OpenRPC version [`Discover::new`] declares.
pub const OPENRPC_VERSION: &str = "1.3.2";

/// The answer to [`DISCOVER_METHOD`], an OpenRPC-shaped document:
///
/// ```json
/// {"openrpc":"1.3.2","info":{"title":"my-plugin","version":"0.1.0","x-wasplug-protocol":1},
///  "methods":[{"name":"ping","params":[]}]}
/// ```
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Discover {
    /// The OpenRPC version of the document ([`OPENRPC_VERSION`]).
    pub openrpc: String,
    /// The plugin's name, version and protocol version.
    pub info: DiscoverInfo,
    /// The methods the plugin answers.
    pub methods: Vec<DiscoverMethod>,
}

/// The `info` member of a [`Discover`] document.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct DiscoverInfo {
    /// The plugin's name.
    pub title: String,
    /// The plugin's version.
    pub version: String,
    /// The wasplug protocol version the plugin speaks.
    #[serde(rename = "x-wasplug-protocol")]
    pub protocol: u32,
}

/// One method in a [`Discover`] document.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct DiscoverMethod {
    /// The method name.
    pub name: String,
    /// OpenRPC content descriptors of the params (often empty).
    #[serde(default)]
    pub params: Vec<serde_json::Value>,
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
                protocol: PROTOCOL_VERSION,
            },
            methods: methods
                .into_iter()
                .map(|name| DiscoverMethod {
                    name: name.into(),
                    params: Vec::new(),
                })
                .collect(),
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn parses_with_missing_params_and_extra_members() {
        let d: Discover = serde_json::from_str(
            r#"{"openrpc":"1.3.2","info":{"title":"t","version":"v","x-wasplug-protocol":1,"description":"d"},
               "methods":[{"name":"a","result":{"name":"r","schema":{}}}]}"#,
        )
        .unwrap();
        assert_eq!(d, Discover::new("t", "v", ["a"]));
        let d2: Discover = serde_json::from_str(&serde_json::to_string(&d).unwrap()).unwrap();
        assert_eq!(d, d2);
    }
}
