//! The names inside Elastic Load Balancing references: a load balancer's
//! `net/NAME/ID` (`app/`, `gwy/`), a target group's `targetgroup/NAME/ID`,
//! or the full ARNs that end in them. One parser for the profile's check,
//! the reader's look-ups, the report's short names and the lab.

/// Which ELB resource a reference names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElbKind {
    Network,
    Application,
    Gateway,
    TargetGroup,
}

impl ElbKind {
    /// The short form's first segment: `net`, `app`, `gwy`, `targetgroup`.
    pub fn prefix(self) -> &'static str {
        match self {
            ElbKind::Network => "net",
            ElbKind::Application => "app",
            ElbKind::Gateway => "gwy",
            ElbKind::TargetGroup => "targetgroup",
        }
    }

    fn of_prefix(prefix: &str) -> Option<ElbKind> {
        Some(match prefix {
            "net" => ElbKind::Network,
            "app" => ElbKind::Application,
            "gwy" => ElbKind::Gateway,
            "targetgroup" => ElbKind::TargetGroup,
            _ => return None,
        })
    }
}

/// The fields of an ARN before its resource part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArnHead<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
}

/// A parsed reference: its kind, `NAME`, `ID` (when given), and the ARN's
/// head when it was an ARN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElbRef<'a> {
    pub kind: ElbKind,
    pub name: &'a str,
    pub id: Option<&'a str>,
    pub arn: Option<ArnHead<'a>>,
}

impl ElbRef<'_> {
    /// `net/NAME`, `targetgroup/NAME`: short, and still says what it is.
    pub fn kind_and_name(&self) -> String {
        format!("{}/{}", self.kind.prefix(), self.name)
    }
}

/// `net/NAME/ID`, `app/NAME/ID`, `gwy/NAME/ID`, `targetgroup/NAME/ID` (the
/// `/ID` may be left out), or
/// `arn:PARTITION:SERVICE:REGION:ACCOUNT:loadbalancer/net/NAME/ID` (a load
/// balancer) or `…:targetgroup/NAME/ID`. `None` for anything else (a bare
/// name, a listener ARN). The fields are not checked: the profile's check
/// does that.
pub fn parse(reference: &str) -> Option<ElbRef<'_>> {
    let (arn, resource) = match reference.strip_prefix("arn:") {
        None => (None, reference),
        Some(rest) => {
            let parts: Vec<&str> = rest.splitn(5, ':').collect();
            let [partition, service, region, account, resource] = parts[..] else {
                return None;
            };
            let head = ArnHead {
                partition,
                service,
                region,
                account,
            };
            (Some(head), resource)
        }
    };
    // In an ARN a load balancer's short form follows `loadbalancer/`; a
    // target group's stands alone.
    let (short, load_balancer) = match (arn, resource.strip_prefix("loadbalancer/")) {
        (Some(_), Some(short)) => (short, Some(true)),
        (Some(_), None) => (resource, Some(false)),
        (None, _) => (resource, None),
    };
    let mut parts = short.split('/');
    let kind = ElbKind::of_prefix(parts.next()?)?;
    if load_balancer.is_some_and(|lb| lb != (kind != ElbKind::TargetGroup)) {
        return None;
    }
    let name = parts.next().filter(|n| !n.is_empty())?;
    let id = parts.next().filter(|i| !i.is_empty());
    if parts.next().is_some() {
        return None;
    }
    Some(ElbRef { kind, name, id, arn })
}

/// The short form CloudWatch's dimensions and the report use: an ELB
/// ARN becomes `app/NAME/ID` (`net/…`, `gwy/…`, `targetgroup/…`); a short
/// form, or anything not an ELB reference, is returned as it is.
pub fn short_form(reference: &str) -> String {
    match parse(reference) {
        Some(r) if r.arn.is_some() => match r.id {
            Some(id) => format!("{}/{id}", r.kind_and_name()),
            None => r.kind_and_name(),
        },
        _ => reference.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_forms_of_arns() {
        assert_eq!(
            short_form("arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/web/abc"),
            "app/web/abc"
        );
        assert_eq!(
            short_form("arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/tg-a/73e2"),
            "targetgroup/tg-a/73e2"
        );
        assert_eq!(short_form("net/orders/50dc"), "net/orders/50dc");
        assert_eq!(short_form("orders"), "orders");
    }

    #[test]
    fn short_forms_and_arns() {
        let r = parse("net/orders/50dc6c495c0c9188").unwrap();
        assert_eq!(
            (r.kind, r.name, r.id, r.arn),
            (ElbKind::Network, "orders", Some("50dc6c495c0c9188"), None)
        );
        let r =
            parse("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/abc").unwrap();
        assert_eq!((r.kind, r.name, r.id), (ElbKind::Application, "web", Some("abc")));
        assert_eq!(r.arn.unwrap().account, "123456789012");
        assert_eq!(r.kind_and_name(), "app/web");
        let r = parse("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg-a/73e2").unwrap();
        assert_eq!(
            (r.kind, r.name, r.id),
            (ElbKind::TargetGroup, "tg-a", Some("73e2"))
        );
        assert_eq!(
            parse("targetgroup/tg").map(|r| (r.name, r.id)),
            Some(("tg", None))
        );
        assert_eq!(parse("net/x/").map(|r| r.id), Some(None));
    }

    #[test]
    fn what_is_not_one() {
        assert_eq!(parse("orders"), None);
        assert_eq!(parse("net/"), None);
        assert_eq!(parse("net/a/b/c"), None);
        assert_eq!(
            parse("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/targetgroup/tg/1"),
            None
        );
        assert_eq!(
            parse("arn:aws:elasticloadbalancing:us-east-1:123456789012:net/orders/1"),
            None,
            "a load balancer's ARN has loadbalancer/"
        );
        assert_eq!(
            parse("arn:aws:elasticloadbalancing:eu-west-1:1:listener/net/orders/abc/def"),
            None
        );
    }
}
