//! Typed configuration for every service, loaded in layers: the type's defaults, then an
//! optional TOML file, then environment variables with the service's prefix (nested keys joined
//! by `__`, for example `LUCID_INGESTION_KAFKA__BROKERS`).
//!
//! Secrets are held in [`Secret`], whose `Debug` and `Display` never show the value, so a config
//! can be logged whole.

use std::{fmt, path::Path};

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// The configuration could not be loaded or is invalid.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file or variable could not be read or has the wrong type; the message names the key.
    #[error("invalid configuration: {0}")]
    Load(#[from] Box<figment::Error>),
    /// A value is readable but not acceptable.
    #[error("invalid configuration: {setting}: {problem}")]
    Invalid {
        /// The setting's key, for example `ingestion.api_keys`.
        setting: String,
        /// What is wrong with it.
        problem: String,
    },
}

impl ConfigError {
    /// An unacceptable value of `setting`.
    pub fn invalid(setting: &str, problem: impl Into<String>) -> Self {
        ConfigError::Invalid {
            setting: setting.to_owned(),
            problem: problem.into(),
        }
    }
}

/// Loads `T` from its defaults, then `file` (if given), then variables starting with `prefix`.
pub fn load<T>(prefix: &str, file: Option<&Path>) -> Result<T, ConfigError>
where
    T: Serialize + DeserializeOwned + Default,
{
    let mut figment = Figment::from(Serialized::defaults(T::default()));
    if let Some(file) = file {
        if !file.exists() {
            return Err(ConfigError::invalid(
                "config file",
                format!("{} does not exist", file.display()),
            ));
        }
        figment = figment.merge(Toml::file(file));
    }
    figment
        // `<PREFIX>CONFIG` names the file (read by the binary's flags), not a setting.
        .merge(Env::prefixed(prefix).split("__").ignore(&["config"]))
        .extract()
        .map_err(|e| ConfigError::Load(Box::new(e)))
}

/// A value that must never reach a log line: formatting shows `[redacted]`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when no value is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
// figment::Jail fixes the closure's error type to figment::Error, which is large.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
    struct Sample {
        port: u16,
        nested: Nested,
        key: Secret,
    }

    #[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
    struct Nested {
        brokers: String,
    }

    #[test]
    fn env_overrides_file_overrides_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("c.toml", "port = 7\n[nested]\nbrokers = \"file:1\"\n")?;
            jail.set_env("LUCID_T_NESTED__BROKERS", "env:2");
            let sample: Sample = load("LUCID_T_", Some(Path::new("c.toml"))).expect("loads");
            assert_eq!(sample.port, 7);
            assert_eq!(sample.nested.brokers, "env:2");
            Ok(())
        });
    }

    #[test]
    fn wrong_type_names_the_key() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("LUCID_T_PORT", "seven");
            let error = load::<Sample>("LUCID_T_", None).expect_err("bad port");
            assert!(error.to_string().contains("for key \"PORT\""), "{error}");
            Ok(())
        });
    }

    #[test]
    fn the_config_file_variable_is_not_a_setting() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("LUCID_T_CONFIG", "/some/file.toml");
            jail.set_env("LUCID_T_PORT", "9");
            let sample: Sample = load("LUCID_T_", None).expect("loads");
            assert_eq!(sample.port, 9);
            Ok(())
        });
    }

    #[test]
    fn missing_file_is_an_error() {
        let error =
            load::<Sample>("LUCID_T_", Some(Path::new("/nonexistent.toml"))).expect_err("no file");
        assert!(error.to_string().contains("/nonexistent.toml"));
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let sample = Sample {
            key: Secret::new("hunter2"),
            ..Default::default()
        };
        assert!(!format!("{sample:?}").contains("hunter2"));
        assert_eq!(sample.key.expose(), "hunter2");
    }
}
