//! Elastic Load Balancing (`elasticloadbalancingv2`): each load balancer the
//! chain reached or the profile names, with its attributes, listeners and
//! their attributes, target groups and their attributes, and target health.
//! Every attribute key is kept as returned.

use std::collections::BTreeMap;

use aws_sdk_elasticloadbalancingv2::types::{Listener, LoadBalancer, TargetGroup};

use super::ctx::{is_not_found, Ctx};
use super::model::{Forward, ListenerConfig, LoadBalancerConfig, TargetConfig, TargetGroupConfig};

/// A reference's `NAME` and `ID` (`crate::aws::arn`); anything else is
/// taken as a bare name.
fn name_and_id(reference: &str) -> (String, Option<String>) {
    match crate::aws::arn::parse(reference) {
        Some(r) => (r.name.to_string(), r.id.map(String::from)),
        None => (reference.to_string(), None),
    }
}

/// Read `load_balancers` (ARN or `net/NAME/ID`, and what named it) and the
/// load balancers `target_groups` (`targetgroup/NAME/ID` or ARNs) belong to.
pub async fn read(
    ctx: &mut Ctx<'_>,
    load_balancers: &[(String, String)],
    target_groups: &[String],
) -> Vec<LoadBalancerConfig> {
    let mut refs = load_balancers.to_vec();
    for tg in target_groups {
        for lb in owners_of(ctx, tg).await {
            if !refs.iter().any(|(r, _)| *r == lb) {
                refs.push((lb, format!("target group {tg}")));
            }
        }
    }
    let mut found: Vec<LoadBalancer> = Vec::new();
    for (reference, origin) in &refs {
        if let Some(lb) = find(ctx, reference, origin).await {
            if !found
                .iter()
                .any(|f| f.load_balancer_arn() == lb.load_balancer_arn())
            {
                found.push(lb);
            }
        }
    }
    let mut out = Vec::new();
    for lb in &found {
        out.push(read_one(ctx, lb).await);
    }
    out
}

/// The load balancers a target group named in the profile serves.
async fn owners_of(ctx: &mut Ctx<'_>, tg: &str) -> Vec<String> {
    ctx.step(&format!("looking up target group {tg}"));
    let action = "elasticloadbalancing:DescribeTargetGroups";
    let request = ctx.clients.elb.describe_target_groups();
    let request = if tg.starts_with("arn:") {
        request.target_group_arns(tg)
    } else {
        request.names(name_and_id(tg).0)
    };
    match ctx.send(request.send()).await {
        Ok(out) => {
            let owners: Vec<String> = out
                .target_groups()
                .iter()
                .flat_map(|g| g.load_balancer_arns().iter().cloned())
                .collect();
            if owners.is_empty() {
                ctx.note(format!(
                    "target group {tg} (from [aws] target_groups) serves no load balancer: its targets were not read"
                ));
            }
            owners
        }
        Err(e) if is_not_found(&e) => {
            ctx.note(format!(
                "target group {tg} (from [aws] target_groups) is not in this account/region"
            ));
            Vec::new()
        }
        Err(e) => {
            ctx.failed(action, &e);
            Vec::new()
        }
    }
}

/// A load balancer by ARN, else by name: an emulator's ARN may not be the
/// one the profile names (moto says `app/` for every kind).
async fn find(ctx: &mut Ctx<'_>, reference: &str, origin: &str) -> Option<LoadBalancer> {
    let action = "elasticloadbalancing:DescribeLoadBalancers";
    let (name, id) = name_and_id(reference);
    if reference.starts_with("arn:") {
        match ctx
            .send(
                ctx.clients
                    .elb
                    .describe_load_balancers()
                    .load_balancer_arns(reference)
                    .send(),
            )
            .await
        {
            Ok(out) if !out.load_balancers().is_empty() => return out.load_balancers().first().cloned(),
            Ok(_) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => {
                ctx.failed(action, &e);
                return None;
            }
        }
    }
    match ctx
        .send(ctx.clients.elb.describe_load_balancers().names(&name).send())
        .await
    {
        Ok(out) => {
            let lb = out.load_balancers().first().cloned();
            match (&lb, id) {
                (None, _) => ctx.note(format!(
                    "{origin}: no load balancer {reference} in this account/region"
                )),
                (Some(lb), Some(id)) => {
                    let arn = lb.load_balancer_arn().unwrap_or_default();
                    if name_and_id(arn).1.as_deref() != Some(id.as_str()) {
                        ctx.note(format!(
                            "{origin}: {reference} found by its name {name} as {arn}, whose id differs"
                        ));
                    }
                }
                (Some(_), None) => {}
            }
            lb
        }
        Err(e) if is_not_found(&e) => {
            ctx.note(format!(
                "{origin}: no load balancer {reference} in this account/region"
            ));
            None
        }
        Err(e) => {
            ctx.failed(action, &e);
            None
        }
    }
}

async fn read_one(ctx: &mut Ctx<'_>, lb: &LoadBalancer) -> LoadBalancerConfig {
    let arn = lb.load_balancer_arn().unwrap_or_default().to_string();
    let name = lb.load_balancer_name().unwrap_or_default().to_string();
    ctx.step(&format!(
        "reading load balancer {name} (listeners, target groups, target health)"
    ));
    let kind = match lb.r#type() {
        Some(t) => t.as_str().to_string(),
        None => match arn.contains(":loadbalancer/net/") {
            true => "network".into(),
            false => "application".into(),
        },
    };
    let mut config = LoadBalancerConfig {
        arn: arn.clone(),
        name,
        kind,
        scheme: lb.scheme().map(|s| s.as_str().to_string()),
        ip_address_type: lb.ip_address_type().map(|t| t.as_str().to_string()),
        zones: lb
            .availability_zones()
            .iter()
            .filter_map(|z| z.zone_name().map(String::from))
            .collect(),
        ..LoadBalancerConfig::default()
    };
    match ctx
        .send(
            ctx.clients
                .elb
                .describe_load_balancer_attributes()
                .load_balancer_arn(&arn)
                .send(),
        )
        .await
    {
        Ok(out) => config.attributes = pairs(out.attributes().iter().map(|a| (a.key(), a.value()))),
        Err(e) => {
            config.attributes_unread = true;
            ctx.failed("elasticloadbalancing:DescribeLoadBalancerAttributes", &e)
        }
    }
    config.listeners = listeners(ctx, &arn).await;
    for group in target_groups(ctx, &arn).await {
        config.target_groups.push(target_group(ctx, &group).await);
    }
    config
}

fn pairs<'a>(items: impl Iterator<Item = (Option<&'a str>, Option<&'a str>)>) -> BTreeMap<String, String> {
    items
        .filter_map(|(k, v)| Some((k?.to_string(), v.unwrap_or_default().to_string())))
        .collect()
}

async fn listeners(ctx: &mut Ctx<'_>, lb: &str) -> Vec<ListenerConfig> {
    let action = "elasticloadbalancing:DescribeListeners";
    let client = &ctx.clients.elb;
    // A failed page is a note; the listeners before it are kept.
    let mut out = ctx
        .pages(action, |marker| async move {
            let page = client
                .describe_listeners()
                .load_balancer_arn(lb)
                .page_size(400)
                .set_marker(marker)
                .send()
                .await?;
            let items = page.listeners().iter().map(listener).collect();
            Ok((items, page.next_marker().map(String::from)))
        })
        .await
        .items;
    for l in &mut out {
        match ctx
            .send(
                ctx.clients
                    .elb
                    .describe_listener_attributes()
                    .listener_arn(&l.arn)
                    .send(),
            )
            .await
        {
            Ok(a) => l.attributes = pairs(a.attributes().iter().map(|a| (a.key(), a.value()))),
            Err(e) => {
                l.attributes_unread = true;
                ctx.failed("elasticloadbalancing:DescribeListenerAttributes", &e)
            }
        }
    }
    out
}

async fn target_groups(ctx: &mut Ctx<'_>, lb: &str) -> Vec<TargetGroup> {
    let client = &ctx.clients.elb;
    ctx.pages("elasticloadbalancing:DescribeTargetGroups", |marker| async move {
        let page = client
            .describe_target_groups()
            .load_balancer_arn(lb)
            .page_size(400)
            .set_marker(marker)
            .send()
            .await?;
        Ok((
            page.target_groups().to_vec(),
            page.next_marker().map(String::from),
        ))
    })
    .await
    .items
}

/// A listener as read, before its attributes.
fn listener(l: &Listener) -> ListenerConfig {
    let mut forwards = Vec::new();
    for action in l.default_actions() {
        if action.r#type().map(|t| t.as_str()) != Some("forward") {
            continue;
        }
        let tuples = action
            .forward_config()
            .map(|c| c.target_groups())
            .unwrap_or_default();
        if tuples.is_empty() {
            if let Some(tg) = action.target_group_arn() {
                forwards.push(Forward {
                    target_group_arn: tg.to_string(),
                    weight: None,
                });
            }
        }
        forwards.extend(tuples.iter().filter_map(|t| {
            Some(Forward {
                target_group_arn: t.target_group_arn()?.to_string(),
                weight: t.weight(),
            })
        }));
    }
    ListenerConfig {
        arn: l.listener_arn().unwrap_or_default().to_string(),
        protocol: l.protocol().map(|p| p.as_str().to_string()).unwrap_or_default(),
        port: l.port().and_then(|p| u16::try_from(p).ok()).unwrap_or_default(),
        attributes: BTreeMap::new(),
        attributes_unread: false,
        forwards,
    }
}

async fn target_group(ctx: &mut Ctx<'_>, group: &TargetGroup) -> TargetGroupConfig {
    let arn = group.target_group_arn().unwrap_or_default().to_string();
    let mut config = TargetGroupConfig {
        arn: arn.clone(),
        name: group.target_group_name().unwrap_or_default().to_string(),
        protocol: group.protocol().map(|p| p.as_str().to_string()),
        port: group.port().and_then(|p| u16::try_from(p).ok()),
        target_type: group.target_type().map(|t| t.as_str().to_string()),
        ..TargetGroupConfig::default()
    };
    match ctx
        .send(
            ctx.clients
                .elb
                .describe_target_group_attributes()
                .target_group_arn(&arn)
                .send(),
        )
        .await
    {
        Ok(out) => config.attributes = pairs(out.attributes().iter().map(|a| (a.key(), a.value()))),
        Err(e) => {
            config.attributes_unread = true;
            ctx.failed("elasticloadbalancing:DescribeTargetGroupAttributes", &e)
        }
    }
    match ctx
        .send(
            ctx.clients
                .elb
                .describe_target_health()
                .target_group_arn(&arn)
                .send(),
        )
        .await
    {
        Ok(out) => {
            config.targets = out
                .target_health_descriptions()
                .iter()
                .filter_map(|d| {
                    let target = d.target()?;
                    let health = d.target_health();
                    Some(TargetConfig {
                        id: target.id()?.to_string(),
                        port: target.port().and_then(|p| u16::try_from(p).ok()),
                        zone: target.availability_zone().map(String::from),
                        state: health
                            .and_then(|h| h.state())
                            .map(|s| s.as_str().to_string())
                            .unwrap_or_default(),
                        reason: health.and_then(|h| h.reason()).map(|r| r.as_str().to_string()),
                        description: health.and_then(|h| h.description()).map(String::from),
                    })
                })
                .collect()
        }
        Err(e) => ctx.failed("elasticloadbalancing:DescribeTargetHealth", &e),
    }
    config
}
