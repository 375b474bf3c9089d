//! Collecting validation: check every field, then fail once naming all the bad ones.

use crate::error::{Error, FieldError, Result};

/// Accumulates field errors so a request learns about every problem at once.
#[derive(Default, Debug)]
pub struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps the value of an `Ok`, records the error of an `Err`.
    pub fn check<T>(&mut self, r: std::result::Result<T, FieldError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.errors.push(e);
                None
            }
        }
    }

    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }

    /// `Err(Error::Validation)` when anything failed.
    pub fn finish(self) -> Result<()> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation(self.errors))
        }
    }
}

/// The value as sent: no control characters anywhere, at most `max` characters (blanks
/// included). What the document's `pattern` and `maxLength` say, so both agree.
pub fn raw_text(field: &str, value: &str, max: usize) -> Result<(), FieldError> {
    if value.chars().any(|c| c.is_control()) {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    if value.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(())
}

/// Checks a text field as sent ([`raw_text`]), then trims it and checks it holds at least
/// `min` characters.
pub fn text(field: &str, value: &str, min: usize, max: usize) -> Result<String, FieldError> {
    raw_text(field, value, max)?;
    let v = value.trim();
    let n = v.chars().count();
    if n < min {
        return Err(FieldError::new(
            field,
            if min == 1 {
                "must not be empty".to_owned()
            } else {
                format!("must be at least {min} characters")
            },
        ));
    }
    Ok(v.to_owned())
}

/// An optional text field: blank becomes `None`.
pub fn opt_text(
    field: &str,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>, FieldError> {
    match value {
        None => Ok(None),
        Some(v) => {
            raw_text(field, v, max)?;
            if v.trim().is_empty() {
                Ok(None)
            } else {
                text(field, v, 1, max).map(Some)
            }
        }
    }
}

/// A pragmatic e-mail check: one `@`, a non-empty local part, a dotted domain, no spaces.
/// Lower-cases the domain (the local part is kept as given, per RFC 5321).
pub fn email(field: &str, value: &str) -> Result<String, FieldError> {
    let v = value.trim();
    let err = || FieldError::new(field, format!("'{v}' is not a valid e-mail address"));
    if v.len() > 254 || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(err());
    }
    let (local, domain) = v.split_once('@').ok_or_else(err)?;
    if local.is_empty() || local.len() > 64 || domain.contains('@') {
        return Err(err());
    }
    let domain = domain_name(domain).ok_or_else(err)?;
    Ok(format!("{local}@{domain}"))
}

/// Normalises a web domain or URL to its bare host name: `https://WWW.Acme.com/x` → `acme.com`.
pub fn web_domain(field: &str, value: &str) -> Result<String, FieldError> {
    let v = value.trim().to_ascii_lowercase();
    let v = v
        .strip_prefix("https://")
        .or_else(|| v.strip_prefix("http://"))
        .unwrap_or(&v);
    let host = v.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.split(':').next().unwrap_or_default();
    let host = host.strip_prefix("www.").unwrap_or(host);
    domain_name(host).ok_or_else(|| {
        FieldError::new(
            field,
            format!("'{}' is not a valid domain name", value.trim()),
        )
    })
}

fn domain_name(host: &str) -> Option<String> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let labels: Vec<&str> = host.split('.').collect();
    let ok = host.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_alphabetic()) && tld.len() >= 2);
    ok.then_some(host)
}

/// A phone number: digits with an optional leading `+` and common separators, 6–20 digits.
/// Returns the number with separators removed.
pub fn phone(field: &str, value: &str) -> Result<String, FieldError> {
    let v = value.trim();
    let err = || FieldError::new(field, format!("'{v}' is not a valid phone number"));
    let mut out = String::new();
    for (i, c) in v.chars().enumerate() {
        match c {
            '+' if i == 0 => out.push('+'),
            '0'..='9' => out.push(c),
            ' ' | '-' | '.' | '(' | ')' | '/' => {}
            _ => return Err(err()),
        }
    }
    let digits = out.chars().filter(char::is_ascii_digit).count();
    if (6..=20).contains(&digits) {
        Ok(out)
    } else {
        Err(err())
    }
}

/// An integer in `min..=max`.
pub fn range(field: &str, value: i64, min: i64, max: i64) -> Result<i64, FieldError> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(FieldError::new(
            field,
            format!("must be between {min} and {max}"),
        ))
    }
}

/// One of a fixed set of values.
pub fn one_of<'a>(field: &str, value: &str, allowed: &[&'a str]) -> Result<&'a str, FieldError> {
    allowed
        .iter()
        .find(|a| **a == value)
        .copied()
        .ok_or_else(|| {
            FieldError::new(
                field,
                format!("'{value}' is not one of: {}", allowed.join(", ")),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn domains_are_normalised() {
        assert_eq!(
            web_domain("d", "https://WWW.Acme.COM/about").unwrap(),
            "acme.com"
        );
        assert_eq!(web_domain("d", "acme.co.uk").unwrap(), "acme.co.uk");
        assert!(web_domain("d", "localhost").is_err());
        assert!(web_domain("d", "acme..com").is_err());
        assert!(web_domain("d", "-acme.com").is_err());
    }

    #[test]
    fn emails_keep_local_part_and_lower_domain() {
        assert_eq!(email("e", " Ann@Example.COM ").unwrap(), "Ann@example.com");
        for bad in ["ann", "ann@", "@x.com", "a b@x.com", "a@b@c.com", "a@x"] {
            assert!(email("e", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn phones_drop_separators() {
        assert_eq!(phone("p", "+49 (30) 123-456").unwrap(), "+4930123456");
        assert!(phone("p", "12").is_err());
        assert!(phone("p", "12345a7").is_err());
    }

    #[test]
    fn validator_collects_every_error() {
        let mut v = Validator::new();
        v.check(text("name", "", 1, 10));
        v.check(email("email", "nope"));
        let Err(Error::Validation(errors)) = v.finish() else {
            panic!("expected validation error")
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "email"]);
    }

    proptest! {
        #[test]
        fn a_normalised_domain_normalises_to_itself(s in "[a-z0-9]{1,10}(\\.[a-z0-9]{1,10}){0,2}\\.[a-z]{2,6}") {
            let once = web_domain("d", &s).unwrap();
            prop_assert_eq!(web_domain("d", &once).unwrap(), once);
        }

        #[test]
        fn email_never_panics(s in "\\PC{0,80}") {
            let _ = email("e", &s);
        }
    }
}

/// A prefix full-text query for `to_tsquery('simple', ...)`: every word of `q` as `word:*`,
/// joined with `&`. Only letters and digits survive, so the result is always valid syntax.
/// `None` when `q` holds no word.
pub fn prefix_tsquery(q: &str) -> Option<String> {
    let words: Vec<String> = q
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(8)
        .map(|w| format!("{}:*", w.to_lowercase()))
        .collect();
    (!words.is_empty()).then(|| words.join(" & "))
}

#[cfg(test)]
mod tsquery_tests {
    use super::prefix_tsquery;

    #[test]
    fn only_words_survive() {
        assert_eq!(
            prefix_tsquery("Acme  Corp!").as_deref(),
            Some("acme:* & corp:*")
        );
        assert_eq!(
            prefix_tsquery("a'b:*|c").as_deref(),
            Some("a:* & b:* & c:*")
        );
        assert_eq!(prefix_tsquery(" &|! "), None);
    }
}
