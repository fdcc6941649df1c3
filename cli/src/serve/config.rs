//! What each plugin is given: its config file (`--config-file FILE`) and flags.
//!
//! ```toml
//! # Every plugin; each key of a [plugins.NAME] table replaces the same key here.
//! [defaults]
//! grant = ["time"]               # host methods granted (the CLI's: echo, time, log)
//! grant_requested = false        # also grant every host method the plugin requests
//! refuse_ungranted = false       # refuse a plugin that requests more than it is granted
//! kv = false                     # kv.get, kv.set, kv.delete on a store in memory
//! allow_http = []                # hosts http.fetch may reach (granted when not empty)
//! config = {}                    # what the plugin reads with config.get
//! args = []                      # its command-line arguments (after its name)
//! env = {}                       # its environment variables
//!
//! [plugins.greeter]
//! grant = ["echo", "log"]
//! config = { greeting = "Hello" }
//! env = { LANG = "C" }
//! ```

use anyhow::Context as _;
use serde::Deserialize;
use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
    str::FromStr,
};

/// One table of the config file: `[defaults]` or `[plugins.NAME]`. A key
/// left out takes the value of `[defaults]`, then the built-in default.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Table {
    grant: Option<BTreeSet<String>>,
    grant_requested: Option<bool>,
    refuse_ungranted: Option<bool>,
    kv: Option<bool>,
    allow_http: Option<Vec<String>>,
    config: Option<serde_json::Map<String, serde_json::Value>>,
    args: Option<Vec<String>>,
    env: Option<BTreeMap<String, String>>,
}

/// The config file.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    defaults: Table,
    #[serde(default)]
    plugins: BTreeMap<String, Table>,
}

/// `--grant NAME=METHOD,...`: host methods granted to one plugin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct GrantArg {
    plugin: String,
    methods: Vec<String>,
}

impl FromStr for GrantArg {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (plugin, methods) = text
            .split_once('=')
            .ok_or_else(|| format!("`{text}` is not NAME=METHOD[,METHOD...]"))?;
        let methods: Vec<String> = methods
            .split(',')
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(str::to_owned)
            .collect();
        if plugin.is_empty() || methods.is_empty() {
            return Err(format!(
                "`{text}` is not NAME=METHOD[,METHOD...]: give a plugin name and at least one method"
            ));
        }
        Ok(Self {
            plugin: plugin.to_owned(),
            methods,
        })
    }
}

/// What one plugin is given, with every default applied.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Settings {
    /// Host methods granted by name.
    pub(crate) grant: BTreeSet<String>,
    /// Whether every host method the plugin requests is granted too.
    pub(crate) grant_requested: bool,
    /// Whether a plugin requesting a host method it is not granted is
    /// refused at load.
    pub(crate) refuse_ungranted: bool,
    /// Whether the plugin has a key-value store (`kv.*` granted).
    pub(crate) kv: bool,
    /// Hosts `http.fetch` may reach; `http.fetch` is granted when not empty.
    pub(crate) allow_http: Vec<String>,
    /// The plugin's config map.
    pub(crate) config: serde_json::Map<String, serde_json::Value>,
    /// The plugin's arguments.
    pub(crate) args: Vec<String>,
    /// The plugin's environment.
    pub(crate) env: BTreeMap<String, String>,
}

/// Every plugin's settings: the config file, then the flags.
#[derive(Clone, Debug, Default)]
pub(crate) struct Config {
    file: File,
    grants: Vec<GrantArg>,
    grant_requested: bool,
}

impl Config {
    /// Reads the config file (if any) and adds the flags.
    ///
    /// # Errors
    /// When the file cannot be read or is not a valid config file.
    pub(crate) fn new(
        file: Option<&Path>,
        grants: Vec<GrantArg>,
        grant_requested: bool,
    ) -> anyhow::Result<Self> {
        let file = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the config file {}", path.display()))?;
                parse(&text).with_context(|| {
                    format!("{} is not a valid wasplug config file", path.display())
                })?
            }
            None => File::default(),
        };
        Ok(Self {
            file,
            grants,
            grant_requested,
        })
    }

    /// What the plugin `name` is given.
    pub(crate) fn settings(&self, name: &str) -> Settings {
        let defaults = &self.file.defaults;
        let own = self.file.plugins.get(name);
        /// The plugin's own value, else the default, else the built-in one.
        fn pick<T: Clone + Default>(own: Option<&Option<T>>, default: &Option<T>) -> T {
            own.and_then(Option::as_ref)
                .or(default.as_ref())
                .cloned()
                .unwrap_or_default()
        }
        let mut settings = Settings {
            grant: pick(own.map(|t| &t.grant), &defaults.grant),
            grant_requested: pick(own.map(|t| &t.grant_requested), &defaults.grant_requested),
            refuse_ungranted: pick(own.map(|t| &t.refuse_ungranted), &defaults.refuse_ungranted),
            kv: pick(own.map(|t| &t.kv), &defaults.kv),
            allow_http: pick(own.map(|t| &t.allow_http), &defaults.allow_http),
            config: pick(own.map(|t| &t.config), &defaults.config),
            args: pick(own.map(|t| &t.args), &defaults.args),
            env: pick(own.map(|t| &t.env), &defaults.env),
        };
        settings.grant_requested |= self.grant_requested;
        for grant in self.grants.iter().filter(|g| g.plugin == name) {
            settings.grant.extend(grant.methods.iter().cloned());
        }
        settings
    }
}

fn parse(text: &str) -> Result<File, toml::de::Error> {
    toml::from_str(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn a_plugin_table_overrides_the_defaults_key_by_key_and_flags_add() {
        let file = parse(
            r#"
            [defaults]
            grant = ["time"]
            args = ["--quiet"]
            env = { LANG = "C" }

            [plugins.greeter]
            grant = ["echo"]
            kv = true
            config = { greeting = "Hello", n = 18446744073709551615 }
            "#,
        )
        .unwrap();
        let config = Config {
            file,
            grants: vec!["greeter=log, echo".parse().unwrap()],
            grant_requested: false,
        };
        let greeter = config.settings("greeter");
        assert_eq!(greeter.grant, set(&["echo", "log"]));
        assert!(greeter.kv);
        assert_eq!(greeter.args, ["--quiet"]);
        assert_eq!(greeter.env.get("LANG").map(String::as_str), Some("C"));
        assert_eq!(
            serde_json::Value::Object(greeter.config),
            serde_json::json!({"greeting": "Hello", "n": 18446744073709551615_u64})
        );
        let other = config.settings("other");
        assert_eq!(other.grant, set(&["time"]));
        assert!(!other.kv && !other.grant_requested);
        assert!(other.config.is_empty() && other.allow_http.is_empty());
    }

    #[test]
    fn grant_requested_from_the_flag_applies_to_every_plugin() {
        let config = Config {
            grant_requested: true,
            ..Config::default()
        };
        assert!(config.settings("any").grant_requested);
        assert_eq!(config.settings("any").grant, BTreeSet::new());
    }

    #[test]
    fn mistakes_in_the_file_or_the_flags_are_refused() {
        assert!(parse("[defaults]\ngrants = []").is_err());
        assert!(parse("[plugins.x]\nkv = \"yes\"").is_err());
        assert!(parse("[other]").is_err());
        assert!(parse("").is_ok());
        assert!("greeter".parse::<GrantArg>().is_err());
        assert!("=echo".parse::<GrantArg>().is_err());
        assert!("greeter=".parse::<GrantArg>().is_err());
    }
}
