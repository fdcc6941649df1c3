//! Command-line values for limits: a number, or `none` for no limit.

use std::{fmt, str::FromStr, time::Duration};

/// A wall-clock limit in seconds (decimals allowed), or `none`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Seconds(pub(crate) Option<Duration>);

impl FromStr for Seconds {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        if text == "none" {
            return Ok(Self(None));
        }
        let seconds: f64 = text
            .parse()
            .map_err(|_| format!("`{text}` is not a number of seconds (or `none`)"))?;
        Duration::try_from_secs_f64(seconds)
            .map(|d| Self(Some(d)))
            .map_err(|_| format!("`{text}` is not a usable number of seconds"))
    }
}

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(duration) => write!(f, "{}", duration.as_secs_f64()),
            None => f.write_str("none"),
        }
    }
}

/// A count (fuel units, MiB), or `none`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cap(pub(crate) Option<u64>);

impl FromStr for Cap {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        if text == "none" {
            return Ok(Self(None));
        }
        text.replace('_', "")
            .parse()
            .map(|n| Self(Some(n)))
            .map_err(|_| format!("`{text}` is not a whole number (or `none`)"))
    }
}

impl fmt::Display for Cap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(n) => write!(f, "{n}"),
            None => f.write_str("none"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_numbers_and_none() {
        assert_eq!(
            "1.5".parse(),
            Ok(Seconds(Some(Duration::from_millis(1500))))
        );
        assert_eq!("none".parse(), Ok(Seconds(None)));
        assert!("-1".parse::<Seconds>().is_err());
        assert_eq!("1_000".parse(), Ok(Cap(Some(1000))));
        assert_eq!("none".parse(), Ok(Cap(None)));
        assert!("1e3".parse::<Cap>().is_err());
        assert_eq!(Seconds(Some(Duration::from_secs(30))).to_string(), "30");
    }
}
