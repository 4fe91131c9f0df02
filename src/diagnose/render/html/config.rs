//! The `aws.config` table: one row per API, route, VPC link, domain, load
//! balancer, listener and target group (`render::config_table`), then the
//! notes of what could not be read.

use std::fmt::{self, Write as _};

use super::escape::esc;
use super::page::list;
use crate::aws::path::PathConfig;
use crate::diagnose::render::config_table::rows;

pub(super) fn table(s: &mut String, c: &PathConfig) -> fmt::Result {
    s.push_str("<h2>AWS configuration</h2>\n");
    let rows = rows(c);
    if !rows.is_empty() {
        s.push_str(
            "<table class=\"config\">\n<thead><tr><th>resource</th><th>name</th><th>settings</th></tr></thead>\n<tbody>\n",
        );
        for r in rows {
            let indent = if r.depth > 0 { "↳ " } else { "" };
            writeln!(
                s,
                "<tr><td>{indent}{}</td><td><code>{}</code></td><td>{}</td></tr>",
                esc(r.what),
                esc(&r.name),
                esc(&r.settings)
            )?;
        }
        s.push_str("</tbody>\n</table>\n");
    }
    list(s, "ul", &c.notes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::path::{RestApiConfig, RouteConfig};

    /// Names come from the account and the profile: escaped like the rest.
    #[test]
    fn names_and_notes_are_escaped() {
        let c = PathConfig {
            rest_api: Some(RestApiConfig {
                id: "a<b>".into(),
                routes: vec![RouteConfig {
                    route: "GET /<script>".into(),
                    ..RouteConfig::default()
                }],
                ..RestApiConfig::default()
            }),
            notes: vec!["GetStage: AccessDenied <x>".into()],
            ..PathConfig::default()
        };
        let mut s = String::new();
        table(&mut s, &c).unwrap();
        assert!(
            !s.contains("<script>") && !s.contains("<b>") && !s.contains("<x>"),
            "{s}"
        );
        assert!(s.contains("<code>GET /&lt;script&gt;</code>"), "{s}");
        assert!(s.contains("timeout (default 29000)"), "{s}");
    }
}
