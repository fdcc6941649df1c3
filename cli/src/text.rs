//! Text from a plugin, made safe for a terminal: every piece of such text the
//! CLI prints goes through [`escape`] (the host kit's, which also escapes its
//! default log lines and its error messages); JSON goes through
//! [`crate::json`], which escapes the same characters ([`is_unsafe`]) in
//! JSON's own `\u00XX` form.

pub(crate) use wasplug_hdk::text::{escape, is_unsafe};
