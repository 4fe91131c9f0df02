//! The lab's load balancer in the emulator: an internal NLB (one TCP
//! listener, cross-zone off) or, on an ALB path (`path = "alb"`), an
//! internal ALB (one HTTP listener, its idle timeout and client keep-alive
//! the scenario's), each with one target group and one target per backend.

use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, ListenerAttribute, LoadBalancerAttribute, LoadBalancerSchemeEnum,
    LoadBalancerTypeEnum, ProtocolEnum, TargetDescription, TargetGroupAttribute, TargetTypeEnum,
};
use aws_sdk_elasticloadbalancingv2::Client;

use super::subnets::Subnet;
use super::{name_of, Balancer, LabPath};
use crate::aws::describe;
use crate::lab::cloudwatch::zone;

/// What the emulator made: its ARNs.
pub(super) struct Made {
    pub load_balancer_arn: String,
    pub target_group_arn: String,
}

pub(super) async fn seed(elb: &Client, path: &LabPath, subnets: &[Subnet]) -> Result<Made, String> {
    let zones: Vec<String> = (0..path.backend_ports.len().max(1)).map(zone).collect();
    let (name, kind, protocol) = match &path.balancer {
        Balancer::Nlb { .. } => (&path.names.nlb, LoadBalancerTypeEnum::Network, ProtocolEnum::Tcp),
        Balancer::Alb { .. } => (
            &path.names.alb,
            LoadBalancerTypeEnum::Application,
            ProtocolEnum::Http,
        ),
    };
    let mut lb = elb
        .create_load_balancer()
        .name(name_of(name))
        .r#type(kind)
        .scheme(LoadBalancerSchemeEnum::Internal);
    let mut vpc = None;
    for z in &zones {
        match subnets.iter().find(|s| &s.zone == z) {
            Some(s) => {
                lb = lb.subnets(&s.id);
                vpc = Some(s.vpc.clone());
            }
            None => return Err(format!("the emulator has no default subnet in {z}")),
        }
    }
    let vpc = vpc.ok_or("the emulator has no default subnet")?;
    let lb = lb
        .send()
        .await
        .map_err(|e| describe("elasticloadbalancing:CreateLoadBalancer", &e))?;
    let load_balancer_arn = lb
        .load_balancers()
        .first()
        .and_then(|l| l.load_balancer_arn())
        .ok_or("CreateLoadBalancer returned no ARN")?
        .to_string();
    modify_load_balancer(elb, &load_balancer_arn, &path.balancer).await?;

    let tg = elb
        .create_target_group()
        .name(name_of(&path.names.target_group))
        .protocol(protocol.clone())
        .port(80)
        .vpc_id(&vpc)
        .target_type(TargetTypeEnum::Ip)
        .send()
        .await
        .map_err(|e| describe("elasticloadbalancing:CreateTargetGroup", &e))?;
    let target_group_arn = tg
        .target_groups()
        .first()
        .and_then(|t| t.target_group_arn())
        .ok_or("CreateTargetGroup returned no ARN")?
        .to_string();
    let mut modify = elb
        .modify_target_group_attributes()
        .target_group_arn(&target_group_arn);
    for (k, v) in target_group_attributes(&path.balancer) {
        modify = modify.attributes(TargetGroupAttribute::builder().key(k).value(v).build());
    }
    modify
        .send()
        .await
        .map_err(|e| describe("elasticloadbalancing:ModifyTargetGroupAttributes", &e))?;
    // The backends all listen on 127.0.0.1: as targets they take an
    // address in their zone's subnet (the emulator keys targets by id).
    let mut register = elb.register_targets().target_group_arn(&target_group_arn);
    for (i, port) in path.backend_ports.iter().enumerate() {
        let z = zone(i);
        let subnet = subnets.iter().find(|s| s.zone == z).expect("checked above");
        register = register.targets(
            TargetDescription::builder()
                .id(subnet.address(10))
                .port(i32::from(*port))
                .availability_zone(z)
                .build(),
        );
    }
    register
        .send()
        .await
        .map_err(|e| describe("elasticloadbalancing:RegisterTargets", &e))?;
    let listener = elb
        .create_listener()
        .load_balancer_arn(&load_balancer_arn)
        .protocol(protocol)
        .port(80)
        .default_actions(
            Action::builder()
                .r#type(ActionTypeEnum::Forward)
                .target_group_arn(&target_group_arn)
                .build(),
        )
        .send()
        .await
        .map_err(|e| describe("elasticloadbalancing:CreateListener", &e))?;
    let listener_arn = listener
        .listeners()
        .first()
        .and_then(|l| l.listener_arn())
        .ok_or("CreateListener returned no ARN")?
        .to_string();
    // Only a TCP listener has an idle timer of its own; an ALB's is the
    // load balancer's attribute.
    if let Balancer::Nlb {
        idle_timeout_s: Some(idle),
    } = path.balancer
    {
        elb.modify_listener_attributes()
            .listener_arn(&listener_arn)
            .attributes(
                ListenerAttribute::builder()
                    .key("tcp.idle_timeout.seconds")
                    .value(idle.to_string())
                    .build(),
            )
            .send()
            .await
            .map_err(|e| describe("elasticloadbalancing:ModifyListenerAttributes", &e))?;
    }
    Ok(Made {
        load_balancer_arn,
        target_group_arn,
    })
}

/// The load balancer's own attributes: an NLB's cross-zone (off, as the
/// lab's zones are apart); an ALB's idle timeout and client keep-alive,
/// and its cross-zone written out as AWS has it (always on for an ALB;
/// moto would otherwise report `false`).
async fn modify_load_balancer(elb: &Client, arn: &str, balancer: &Balancer) -> Result<(), String> {
    let attributes: Vec<(&str, String)> = match balancer {
        Balancer::Nlb { .. } => vec![("load_balancing.cross_zone.enabled", "false".into())],
        Balancer::Alb {
            idle_timeout_s,
            client_keep_alive_s,
        } => vec![
            ("idle_timeout.timeout_seconds", idle_timeout_s.to_string()),
            ("client_keep_alive.seconds", client_keep_alive_s.to_string()),
            ("load_balancing.cross_zone.enabled", "true".into()),
        ],
    };
    let mut modify = elb.modify_load_balancer_attributes().load_balancer_arn(arn);
    for (k, v) in attributes {
        modify = modify.attributes(LoadBalancerAttribute::builder().key(k).value(v).build());
    }
    modify
        .send()
        .await
        .map_err(|e| describe("elasticloadbalancing:ModifyLoadBalancerAttributes", &e))?;
    Ok(())
}

/// AWS's defaults, written out: what the lab's load balancer does. An
/// ALB's target group has no connection-termination settings (those are
/// an NLB's): a deregistering target keeps its connections for the
/// deregistration delay, then the ALB closes them.
fn target_group_attributes(balancer: &Balancer) -> Vec<(&'static str, &'static str)> {
    match balancer {
        Balancer::Nlb { .. } => vec![
            ("deregistration_delay.timeout_seconds", "300"),
            ("deregistration_delay.connection_termination.enabled", "false"),
            (
                "load_balancing.cross_zone.enabled",
                "use_load_balancer_configuration",
            ),
            ("preserve_client_ip.enabled", "false"),
            ("proxy_protocol_v2.enabled", "false"),
            (
                "target_health_state.unhealthy.connection_termination.enabled",
                "true",
            ),
        ],
        Balancer::Alb { .. } => vec![
            ("deregistration_delay.timeout_seconds", "300"),
            ("load_balancing.algorithm.type", "round_robin"),
            ("slow_start.duration_seconds", "0"),
            ("stickiness.enabled", "false"),
        ],
    }
}
