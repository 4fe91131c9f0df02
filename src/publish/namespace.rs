//! A CloudWatch namespace, checked against CloudWatch's rules before
//! anything starts: 1 to 255 characters of `0-9A-Za-z . - _ / # :` and
//! space, at least one that is not a space, not starting with `:` (the
//! API's pattern) and not with `AWS/` (reserved for AWS's own services).

/// A namespace CloudWatch accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace(String);

/// What is wrong with a namespace: said after the flag and the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidNamespace {
    #[error("is empty or only spaces")]
    Empty,
    #[error("is {0} characters long; at most 255")]
    TooLong(usize),
    #[error("has {0:?}, which CloudWatch does not take in a namespace")]
    Character(char),
    #[error("starts with `:`")]
    LeadingColon,
    #[error("starts with `AWS/`, which is reserved for AWS's own services")]
    Reserved,
}

/// What a valid namespace is, for the error's last words.
pub const VALID: &str =
    "1 to 255 of the characters 0-9 A-Z a-z . - _ / # : and space, not starting with `AWS/` or `:`, e.g. Coldlink/Probes";

impl Namespace {
    pub fn parse(s: &str) -> Result<Namespace, InvalidNamespace> {
        if s.trim().is_empty() {
            return Err(InvalidNamespace::Empty);
        }
        let len = s.chars().count();
        if len > 255 {
            return Err(InvalidNamespace::TooLong(len));
        }
        if let Some(c) = s
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || ".-_/#: ".contains(*c)))
        {
            return Err(InvalidNamespace::Character(c));
        }
        if s.starts_with(':') {
            return Err(InvalidNamespace::LeadingColon);
        }
        if s.starts_with("AWS/") {
            return Err(InvalidNamespace::Reserved);
        }
        Ok(Namespace(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloudwatch_rules() {
        for ok in [
            "Coldlink",
            "Coldlink/Probes",
            "team.api-1_x/#prod: eu",
            &"a".repeat(255),
        ] {
            assert_eq!(Namespace::parse(ok).unwrap().as_str(), ok);
        }
        assert_eq!(Namespace::parse(""), Err(InvalidNamespace::Empty));
        assert_eq!(Namespace::parse("   "), Err(InvalidNamespace::Empty));
        assert_eq!(
            Namespace::parse(&"a".repeat(256)),
            Err(InvalidNamespace::TooLong(256))
        );
        assert_eq!(
            Namespace::parse("AWS/ApiGateway"),
            Err(InvalidNamespace::Reserved)
        );
        assert_eq!(Namespace::parse(":x"), Err(InvalidNamespace::LeadingColon));
        assert_eq!(Namespace::parse("a*b"), Err(InvalidNamespace::Character('*')));
        assert_eq!(Namespace::parse("é"), Err(InvalidNamespace::Character('é')));
    }
}
