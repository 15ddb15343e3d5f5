//! A small hand-written flag parser: `--name value`, `--name=value` and switches, with
//! errors that name the flag.

use std::fmt::Display;
use std::str::FromStr;
use std::time::Duration;

/// The flags of one subcommand, as given on the command line.
pub struct Flags {
    values: Vec<(&'static str, String)>,
    switches: Vec<&'static str>,
}

/// What a subcommand accepts: flags taking a value, and switches.
pub struct Spec {
    pub valued: &'static [&'static str],
    pub switches: &'static [&'static str],
}

/// The outcome of parsing: flags, or a request for the help text.
pub enum Parsed {
    Flags(Flags),
    Help,
}

impl Spec {
    /// Parses `args` (the words after the subcommand).
    pub fn parse(&self, args: &[String]) -> Result<Parsed, String> {
        if args.iter().any(|a| a == "--help" || a == "-h") {
            return Ok(Parsed::Help);
        }
        let mut flags = Flags { values: Vec::new(), switches: Vec::new() };
        let mut words = args.iter();
        while let Some(word) = words.next() {
            if !word.starts_with("--") {
                return Err(format!("unexpected argument '{word}'"));
            }
            let (name, inline) = match word.split_once('=') {
                Some((name, value)) => (name, Some(value.to_string())),
                None => (word.as_str(), None),
            };
            if let Some(&known) = self.valued.iter().find(|&&v| v == name) {
                let value = match inline {
                    Some(v) => v,
                    None => words.next().cloned().ok_or_else(|| format!("{name} needs a value"))?,
                };
                flags.values.push((known, value));
            } else if let Some(&known) = self.switches.iter().find(|&&s| s == name) {
                if inline.is_some() {
                    return Err(format!("{name} takes no value"));
                }
                flags.switches.push(known);
            } else {
                return Err(format!("unknown flag '{name}'"));
            }
        }
        Ok(Parsed::Flags(flags))
    }
}

impl Flags {
    pub fn switch(&self, name: &str) -> bool {
        self.switches.contains(&name)
    }

    /// Every value given for a repeatable flag, in order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.values.iter().filter(move |(n, _)| *n == name).map(|(_, v)| v.as_str())
    }

    /// The last value given for `name`.
    pub fn last(&self, name: &str) -> Option<&str> {
        self.values.iter().rev().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }

    /// A number in `min..=max`, or `default` when the flag is absent.
    pub fn number<T>(&self, name: &str, default: T, min: T, max: T) -> Result<T, String>
    where
        T: FromStr + PartialOrd + Display + Copy,
    {
        let Some(text) = self.last(name) else { return Ok(default) };
        match text.parse::<T>() {
            Ok(n) if n >= min && n <= max => Ok(n),
            _ => Err(format!("{name} must be a number from {min} to {max}, got '{text}'")),
        }
    }

    /// A duration in (possibly fractional) seconds, more than zero.
    pub fn seconds(&self, name: &str, default: Option<Duration>) -> Result<Option<Duration>, String> {
        let Some(text) = self.last(name) else { return Ok(default) };
        match text.parse::<f64>() {
            Ok(s) if s > 0.0 && s <= 86_400.0 => Ok(Some(Duration::from_secs_f64(s))),
            _ => Err(format!("{name} must be a number of seconds from 0 (excluded) to 86400, got '{text}'")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: Spec = Spec { valued: &["--window", "--scenario"], switches: &["--json"] };

    fn parse(words: &[&str]) -> Result<Parsed, String> {
        SPEC.parse(&words.iter().map(|w| w.to_string()).collect::<Vec<_>>())
    }

    fn flags(words: &[&str]) -> Flags {
        match parse(words).unwrap() {
            Parsed::Flags(f) => f,
            Parsed::Help => panic!("help"),
        }
    }

    #[test]
    fn values_switches_and_repeats() {
        let f = flags(&["--window", "64", "--json", "--scenario=a", "--scenario", "b,c"]);
        assert_eq!(f.number("--window", 1usize, 1, 100).unwrap(), 64);
        assert!(f.switch("--json"));
        assert_eq!(f.all("--scenario").collect::<Vec<_>>(), vec!["a", "b,c"]);
        assert_eq!(f.number("--missing", 7u32, 0, 9).unwrap(), 7);
    }

    #[test]
    fn errors_name_the_flag() {
        assert!(parse(&["--bogus"]).err().unwrap().contains("'--bogus'"));
        assert!(parse(&["--window"]).err().unwrap().contains("--window needs a value"));
        assert!(parse(&["stray"]).err().unwrap().contains("'stray'"));
        assert!(parse(&["--json=1"]).err().unwrap().contains("takes no value"));
        let f = flags(&["--window", "0"]);
        assert!(f.number("--window", 1usize, 1, 100).unwrap_err().contains("from 1 to 100"));
        assert!(matches!(parse(&["--bogus", "-h"]), Ok(Parsed::Help)));
    }
}
